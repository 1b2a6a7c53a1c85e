"""Document-reasoning traces from the project's challenge engine (configs engine, upstream).

    python -m crosstrace.builders dacr-traces --n 5000 --seed 0 --out build/dacr-traces --workers 2
    python -m crosstrace.builders dacr-traces --n 200 --seed 0 --out build/dacr-traces --benchmark build/engine-bench.json
    python -m crosstrace.builders dacr-traces --n 5000 --out build/dacr-traces --upstream path/to/grpo_reasoning_v2

Config `engine` (default): one row per engine challenge, each a verified step-by-step trace in
three forms (chat `messages`; `prompt`/`completion`; `gold_answers` for a verifier reward).
Splits come from disjoint seed ranges (challenge i of a split has seed
seed * 10,000,000 + offset + i, offsets train 0, validation 4,000,000, test 5,000,000,
test_heldout_domains 6,000,000): train, validation and test cover the training domains in turn;
`test_heldout_domains` covers only the held-out domains, which never appear in train.
Config `upstream` (with --upstream): the upstream DACR tuning rows in the same columns.

--benchmark writes the test and test_heldout_domains challenges as a DACR-Bench v1.1 file, the
input of `evaluate.py --tasks dacr --benchmarks <file>`. The folder and the benchmark file are
byte-identical for the same --n, --seed and engine options, whatever --workers is.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any, Literal

from huggingface_hub import DatasetCardData
from tqdm import tqdm

from crosstrace.cards import render_dataset_card
from crosstrace.dacr_prompt import DACR_SYSTEM_PROMPT, template_hash
from crosstrace.engine import ENGINE_VERSION, HELDOUT_DOMAINS, TRAIN_DOMAINS, generate_challenge
from crosstrace.engine.audit import audit_challenge, audit_table, tally
from crosstrace.engine.generate import rejection_kind
from crosstrace.engine.records import TRACE_SCHEMA, engine_row
from crosstrace.errors import ErrorPolicy
from crosstrace.hub_folder import DatasetFolder, size_category
from crosstrace.paths import REPO_ROOT, refuse_overlap
from crosstrace.sources.dacr_bench import CATEGORIES, save_benchmark
from crosstrace.sources.dacr_tuning import read_tuning_data

logger = logging.getLogger(__name__)

DATASET_NAME = "crosstrace-dacr-traces"
ENGINE_CONFIG, UPSTREAM_CONFIG = "engine", "upstream"
LICENSE = "apache-2.0"
SEED_STRIDE = 10_000_000
SPLIT_OFFSETS = {"train": 0, "validation": 4_000_000, "test": 5_000_000, "test_heldout_domains": 6_000_000}
# Shares of --n for the evaluation splits; train gets the rest.
SPLIT_SHARES = {"validation": 0.05, "test": 0.05, "test_heldout_domains": 0.05}
BENCHMARK_SPLITS = ("test", "test_heldout_domains")


@dataclass
class DacrTracesArguments:
    """`python -m crosstrace.builders dacr-traces`: what to generate and where to write it."""

    n: int = field(default=5000, metadata={"help": "engine challenges in all splits together (at least 4)"})
    seed: int = field(default=0, metadata={"help": "build seed; picks the disjoint seed ranges of the splits"})
    out: Path = field(
        default=REPO_ROOT / "build" / "dacr-traces", metadata={"help": "output folder, replaced as a whole"}
    )
    benchmark: Path | None = field(
        default=None,
        metadata={"help": "also write the test and test_heldout_domains challenges to this DACR-Bench JSON file"},
    )
    upstream: Path | None = field(
        default=None,
        metadata={
            "help": "upstream DACR tuning data (a folder or a .jsonl/.json/.parquet file): adds the upstream config"
        },
    )
    workers: int = field(
        default=1, metadata={"help": "processes generating challenges (the output does not depend on it)"}
    )
    questions: int = field(default=10, metadata={"help": "questions per challenge (10, as in DACR-Bench)"})
    on_error: Literal["raise", "skip"] = field(
        default="raise", metadata={"help": "bad upstream rows: stop (raise) or skip and report them in the manifest"}
    )


def split_plan(n: int, seed: int) -> list[tuple[str, int, str]]:
    """(split, seed, domain) of every challenge, in output order."""
    if n < 4:
        raise ValueError(f"--n must be at least 4 (one challenge per split), got {n}")
    sizes = {split: max(1, round(n * share)) for split, share in SPLIT_SHARES.items()}
    sizes = {"train": n - sum(sizes.values()), **sizes}
    plan = []
    for split, size in sizes.items():
        domains = HELDOUT_DOMAINS if split == "test_heldout_domains" else TRAIN_DOMAINS
        base = seed * SEED_STRIDE + SPLIT_OFFSETS[split]
        plan += [(split, base + index, domains[index % len(domains)]) for index in range(size)]
    return plan


def _make(job: tuple[str, int, str, int]) -> tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, bool | None]]]:
    """Worker: one challenge, its training row, and its shortcut-audit outcomes."""
    split, seed, domain, questions = job
    challenge = generate_challenge(seed, domain, n_questions=questions)
    return split, challenge, engine_row(challenge), audit_challenge(challenge)


def generate(
    plan: list[tuple[str, int, str]], questions: int, workers: int
) -> list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, bool | None]]]]:
    jobs = [(split, seed, domain, questions) for split, seed, domain in plan]
    progress = {"total": len(jobs), "desc": "engine challenges", "unit": "challenge"}
    if workers <= 1:
        return [_make(job) for job in tqdm(jobs, **progress)]
    with Pool(workers) as pool:
        # imap keeps the input order, so the output does not depend on the number of workers.
        return list(tqdm(pool.imap(_make, jobs, chunksize=16), **progress))


def _stats(made: list[tuple[str, dict[str, Any], dict[str, Any], Any]]) -> dict[str, Any]:
    per_split: dict[str, dict[str, Counter]] = {}
    rejected_attempts, rejection_kinds = 0, Counter()
    for split, challenge, _, _ in made:
        counters = per_split.setdefault(split, {k: Counter() for k in ("domains", "categories", "hops", "difficulty")})
        counters["domains"][challenge["source"]["domain"]] += 1
        for question in challenge["questions"]:
            counters["categories"][question["category"]] += 1
            counters["hops"][str(question["hops"])] += 1
            counters["difficulty"][question["difficulty"]] += 1
        rejected_attempts += challenge["metadata"]["rejectedAttempts"]
        rejection_kinds.update(rejection_kind(r) for r in challenge["metadata"]["rejections"])
    return {
        "per_split": {
            split: {name: dict(sorted(c.items())) for name, c in counters.items()}
            for split, counters in per_split.items()
        },
        "challenges": len(made),
        "traps": sum(len(c["traps"]) for _, c, _, _ in made),
        "questions": sum(len(c["questions"]) for _, c, _, _ in made),
        "rejected_attempts": rejected_attempts,
        "challenges_with_rejections": sum(bool(c["metadata"]["rejectedAttempts"]) for _, c, _, _ in made),
        "rejection_reasons": dict(rejection_kinds.most_common()),
    }


def _totals(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Question counts over all engine splits, hops in numeric order."""
    totals: dict[str, Counter] = {name: Counter() for name in ("categories", "hops", "difficulty")}
    for counters in stats["per_split"].values():
        for name, counter in totals.items():
            counter.update(counters[name])
    return {
        name: dict(sorted(counter.items(), key=lambda item: int(item[0]) if item[0].isdigit() else item[0]))
        for name, counter in totals.items()
    }


def build(args: DacrTracesArguments) -> dict[str, Any]:
    started = time.perf_counter()
    plan = split_plan(args.n, args.seed)
    made = generate(plan, args.questions, args.workers)
    generation_seconds = time.perf_counter() - started

    folder = DatasetFolder(TRACE_SCHEMA)
    rows_by_split: dict[str, list[dict[str, Any]]] = {}
    for split, _, row, _ in made:
        rows_by_split.setdefault(split, []).append(row)
    for split, rows in rows_by_split.items():
        folder.add_split(ENGINE_CONFIG, split, rows)

    policy = ErrorPolicy(args.on_error)
    upstream = None
    if args.upstream:
        upstream = read_tuning_data(args.upstream, policy)
        for split in ("train", "validation", "test"):
            if upstream.rows.get(split):
                folder.add_split(UPSTREAM_CONFIG, split, upstream.rows[split])

    audit_rows = tally([outcome for _, _, _, outcomes in made for outcome in outcomes])
    stats = _stats(made)
    seed_ranges = {}
    for split, seed, _ in plan:
        low, high = seed_ranges.get(split, (seed, seed))
        seed_ranges[split] = (min(low, seed), max(high, seed))
    manifest = folder.manifest(
        name=DATASET_NAME,
        extra={
            "seed": args.seed,
            "n": args.n,
            "questions_per_challenge": args.questions,
            "engine_version": ENGINE_VERSION,
            "seed_ranges": {split: {"first": low, "last": high} for split, (low, high) in seed_ranges.items()},
            "domains": {"train": list(TRAIN_DOMAINS), "heldout": list(HELDOUT_DOMAINS)},
            "prompt": {
                "template": "crosstrace default",
                "template_sha256_16": template_hash(),
                "system": DACR_SYSTEM_PROMPT,
            },
            "engine_stats": stats,
            "shortcut_audit": audit_rows,
            "upstream": {"path": str(args.upstream), "files": upstream.files} if upstream else None,
            "skipped": policy.report(),
        },
    )
    total = sum(n for splits in folder.counts.values() for n in splits.values())
    card_data = DatasetCardData(
        pretty_name="CrossTrace document-reasoning traces",
        license=LICENSE,
        language=["en"],
        task_categories=["question-answering", "text-generation"],
        tags=[
            "reasoning",
            "document-qa",
            "conflicting-evidence",
            "synthetic",
            "verifiable-rewards",
            "dacr",
            "crosstrace",
        ],
        size_categories=[size_category(total)],
        configs=folder.configs_metadata(default=ENGINE_CONFIG),
    )
    example = rows_by_split["train"][0]
    card = render_dataset_card(
        "dacr_traces.md",
        card_data,
        manifest=manifest,
        counts=folder.counts,
        stats=stats,
        totals=_totals(stats),
        audit_table=audit_table(audit_rows),
        categories=CATEGORIES,
        example_question=example["gold_answers"][0],
        example_trace=_excerpt(example["completion"][0]["content"]),
        engine_config=ENGINE_CONFIG,
        upstream_config=UPSTREAM_CONFIG if upstream else None,
    )
    written = folder.write(args.out, manifest, card)
    if args.benchmark:
        challenges = [challenge for split, challenge, _, _ in made if split in BENCHMARK_SPLITS]
        save_benchmark(
            args.benchmark, challenges, name=f"crosstrace-engine-bench-seed{args.seed}",
            description=f"{len(challenges)} engine challenges (splits {', '.join(BENCHMARK_SPLITS)} of dacr-traces, --n {args.n} --seed {args.seed}), engine {ENGINE_VERSION}",
        )  # fmt: skip
    logger.info(
        "generated %d challenges in %.1f s; written in %.1f s",
        len(made),
        generation_seconds,
        time.perf_counter() - started - generation_seconds,
    )
    return written


def _excerpt(trace: str, questions: int = 2) -> str:
    """The opening of a trace (its first questions) and its closing answer object."""
    blocks = trace.split("\n\n")
    head = blocks[: 1 + questions]
    return "\n\n".join([*head, "[...]", blocks[-1]])


def run(args: DacrTracesArguments) -> int:
    refuse_overlap(args.out, {"--upstream": args.upstream, "--benchmark": args.benchmark})
    manifest = build(args)
    stats = manifest["engine_stats"]
    print(
        f"wrote {args.out}: {manifest['counts']}; {stats['rejected_attempts']} rejected attempt(s) regenerated; "
        f"{len(manifest['skipped'])} bad upstream row(s) skipped"
    )
    if args.benchmark:
        print(f"wrote {args.benchmark}")
    return 0
