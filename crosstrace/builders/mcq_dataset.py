"""WildSci-style ten-option science questions (configs crosstrace_hypothesis, engine_facts, wildsci).

    python -m crosstrace.builders crosstrace --source ../shared/data/crosstrace --out build/crosstrace
    python -m crosstrace.builders mcq --crosstrace build/crosstrace --engine-n 200 --out build/mcq
    python -m crosstrace.builders mcq --wildsci path/to/wildsci.jsonl --out build/mcq   # adds the wildsci config
    python bench/bench_mcq.py --folder build/mcq --save-audit build/mcq-audit.json  # score every question (minutes)
    python -m crosstrace.builders mcq --out build/mcq --audit-results build/mcq-audit.json  # card with that full audit

Configs:
  crosstrace_hypothesis  hypothesis matching and reasoning order over the CrossTrace dataset
                         (train / validation / test follow CrossTrace's splits; HypoGen joins test)
  engine_facts           questions over facts of engine challenges made on the fly
                         (seeds engine-seed .. engine-seed + engine-n - 1, split by challenge)
  wildsci                WildSci's own questions as released (train only), when --wildsci is given

The folder (parquet, manifest with checksums, card with counts and blind-baseline audits) is
byte-identical for the same inputs and options. The card's audit scores the two embedding
baselines on a sample (the build stays under a minute) unless --audit-results brings a full
audit of the same questions. See crosstrace/mcq/__init__.py for the design.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from huggingface_hub import DatasetCardData

from crosstrace.cards import render_dataset_card
from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.hub_folder import DatasetFolder, sha256_file, size_category
from crosstrace.jsonio import read_json_object
from crosstrace.mcq import audit, crosstrace_questions, engine_questions, labels
from crosstrace.mcq.crosstrace_rows import SPLITS, read_crosstrace_folder
from crosstrace.mcq.options import Draft, assemble
from crosstrace.mcq.record import SCHEMA
from crosstrace.paths import REPO_ROOT, refuse_overlap
from crosstrace.sources.wildsci import read_wildsci

logger = logging.getLogger(__name__)

CROSSTRACE_CONFIG = "crosstrace_hypothesis"
ENGINE_CONFIG = "engine_facts"
WILDSCI_CONFIG = "wildsci"
WILDSCI_SPLIT = "train"  # WildSci releases one split; it is kept as released
DATASET_NAME = "crosstrace-mcq"
LICENSE = "cc-by-4.0"  # CrossTrace text is CC BY 4.0, and so is WildSci


@dataclass
class McqArguments:
    """`python -m crosstrace.builders mcq`: the inputs, the seeds and the audit of the questions."""

    crosstrace: Path = field(
        default=REPO_ROOT / "build" / "crosstrace", metadata={"help": "built CrossTrace dataset folder"}
    )
    engine_n: int = field(
        default=200, metadata={"help": "engine challenges to make questions from (0: no engine_facts config)"}
    )
    engine_seed: int = field(
        default=0, metadata={"help": "seed of the first engine challenge; challenge i uses engine-seed + i"}
    )
    wildsci: Path | None = field(
        default=None, metadata={"help": "WildSci's wildsci.jsonl, to add the wildsci config (optional)"}
    )
    out: Path = field(default=REPO_ROOT / "build" / "mcq", metadata={"help": "output folder, replaced as a whole"})
    seed: int = field(
        default=0, metadata={"help": "seed of every shuffle: study order, option letters, engine splits"}
    )
    audit_embedding_sample: int = field(
        default=30,
        metadata={
            "help": "questions per config scored by the embedding baseline for the card (a seeded sample; -1: all; 0: none). "
            "bench/bench_mcq.py scores all of them"
        },
    )
    audit_results: Path | None = field(
        default=None,
        metadata={
            "help": "a full audit saved by `bench/bench_mcq.py --save-audit` for these same questions (checked by digest), "
            "to report in the card instead of the sampled one"
        },
    )
    on_error: Literal["raise", "skip"] = field(
        default="raise",
        metadata={
            "help": "a bad input record stops the build (raise) or is skipped and listed in the manifest (skip)"
        },
    )


def crosstrace_drafts(
    rows_by_split: dict[str, list[dict[str, Any]]], seed: int
) -> tuple[dict[str, list[Draft]], Counter, dict[str, Any]]:
    """Both CrossTrace question types for every split (distractors never leave their split),
    generation notes, and the hypothesis embeddings (text -> vector), which the audit reuses."""
    from crosstrace.embeddings import embed  # loads torch: only when CrossTrace questions are made

    texts = sorted({row["hypothesis"] for rows in rows_by_split.values() for row in rows})
    logger.info("embedding %d hypotheses", len(texts))
    vectors = dict(zip(texts, embed(texts, show_progress_bar=True), strict=True))
    drafts: dict[str, list[Draft]] = {}
    notes: Counter = Counter()
    for split in SPLITS:
        rows = rows_by_split.get(split, [])
        matrix = (
            np.stack([vectors[row["hypothesis"]] for row in rows]) if rows else np.zeros((0, 384), dtype=np.float32)
        )
        matching, matching_notes = crosstrace_questions.hypothesis_matching_drafts(rows, matrix, seed)
        ordering, ordering_notes = crosstrace_questions.reasoning_order_drafts(rows, seed)
        drafts[split] = matching + ordering
        notes.update({f"{split}: {key}": value for key, value in (matching_notes + ordering_notes).items()})
    return drafts, notes, vectors


def _discipline_counts(records_by_config: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    rows = []
    for config, splits in records_by_config.items():
        counts = Counter(
            (r["discipline"], r["nc_domain"], r["nc_subdomain"]) for records in splits.values() for r in records
        )
        for (discipline, domain, subdomain), n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0]))):
            rows.append(
                {
                    "config": config,
                    "discipline": discipline,
                    "nc_domain": domain,
                    "nc_subdomain": subdomain,
                    "questions": n,
                }
            )
    return rows


def _lengths(records_by_config: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Characters of question plus options, per generator: what a training max_length must hold."""
    sizes: dict[str, list[int]] = {}
    for splits in records_by_config.values():
        for records in splits.values():
            for r in records:
                sizes.setdefault(r["source"], []).append(
                    len(r["question"]) + sum(len(text) for text in r["options"].values())
                )
    return [
        {"source": source, "questions": len(n), "mean_chars": round(sum(n) / len(n)), "max_chars": max(n)}
        for source, n in sorted(sizes.items())
    ]


def _audit(generated: Generated, args: McqArguments) -> audit.AuditReport:
    """The blind-baseline audit for the card: from --audit-results when given (checked against
    these very questions), else computed here with the embedding baselines on a sample."""
    records = {config: [r for split in splits.values() for r in split] for config, splits in generated.records.items()}
    if args.audit_results:
        path = Path(args.audit_results)
        try:
            report = audit.AuditReport.from_dict(read_json_object(path))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(
                path, None, None, f"not an audit file of bench/bench_mcq.py --save-audit ({error})"
            ) from None
        for config, config_records in records.items():
            if report.digests.get(config) != audit.questions_digest(config_records):
                raise DataError(
                    path, None, f"digests.{config}",
                    "the audit was computed on other questions than this build's; "
                    f"re-run: python bench/bench_mcq.py --folder {args.out} --save-audit {path}",
                )  # fmt: skip
        return report
    from crosstrace.embeddings import embed

    sample = args.audit_embedding_sample
    return audit.audit_configs(
        records,
        embed if sample != 0 else None,
        None if sample < 0 else sample,
        args.seed,
        generated.hypothesis_vectors,
    )


def _mapping_rows() -> list[dict[str, str]]:
    rows = []
    for kind, table in (("CrossTrace", labels.CROSSTRACE_DOMAINS), ("engine", labels.ENGINE_DOMAINS)):
        for domain, label in table.items():
            rows.append({"kind": kind, "domain": domain, **vars(label)})
    return rows


@dataclass
class Generated:
    """Every question of the build, by config and split, and where it came from."""

    records: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    notes: dict[str, Counter] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    hypothesis_vectors: dict[str, Any] = field(default_factory=dict)


def generate(args: McqArguments, policy: ErrorPolicy) -> Generated:
    out = Generated()
    if args.wildsci:  # first: a file with no usable question stops the build before minutes of other work
        wildsci = read_wildsci(args.wildsci, policy)
        if not wildsci:
            raise DataError(
                args.wildsci, None, None,
                f"no usable WildSci question ({len(policy.skipped)} bad record(s) skipped): "
                "expected JSON Lines of WildSci records (question, options A-J, answer)",
            )  # fmt: skip
        out.sources["wildsci"] = {"file": Path(args.wildsci).name, "sha256": sha256_file(Path(args.wildsci))}
    drafts: dict[str, dict[str, list[Draft]]] = {}
    rows = read_crosstrace_folder(args.crosstrace, policy)
    drafts[CROSSTRACE_CONFIG], out.notes[CROSSTRACE_CONFIG], out.hypothesis_vectors = crosstrace_drafts(
        rows, args.seed
    )
    crosstrace_manifest = Path(args.crosstrace) / "manifest.json"
    out.sources["crosstrace"] = {
        "folder_manifest_sha256": sha256_file(crosstrace_manifest) if crosstrace_manifest.is_file() else None,
        "rows": {split: len(split_rows) for split, split_rows in rows.items()},
    }
    if args.engine_n > 0:
        drafts[ENGINE_CONFIG], out.notes[ENGINE_CONFIG], out.sources["engine"] = engine_questions.engine_drafts(
            args.engine_n, args.engine_seed, args.seed
        )
    out.records = {
        config: {
            split: assemble(split_drafts, args.seed, f"{config}/{split}")
            for split, split_drafts in by_split.items()
            if split_drafts
        }
        for config, by_split in drafts.items()
    }
    if args.wildsci:
        out.records[WILDSCI_CONFIG] = {WILDSCI_SPLIT: wildsci}  # last, as before: the folder stays byte-identical
    return out


def build(args: McqArguments) -> dict[str, Any]:
    """Generate, audit and write the folder; returns the manifest as written."""
    policy = ErrorPolicy(args.on_error)
    started = time.perf_counter()
    generated = generate(args, policy)
    logger.info("questions generated in %.1f s", time.perf_counter() - started)

    folder = DatasetFolder(SCHEMA)
    for config, splits in generated.records.items():
        for split, records in splits.items():
            folder.add_split(config, split, records)
    report = _audit(generated, args)
    balance = {
        config: {split: audit.letter_balance(records) for split, records in splits.items()}
        for config, splits in generated.records.items()
    }
    manifest = folder.manifest(
        name=DATASET_NAME,
        extra={
            "seed": args.seed,
            "engine": {"n": args.engine_n, "first_seed": args.engine_seed},
            "sources": generated.sources,
            "near_duplicate_threshold": crosstrace_questions.NEAR_DUPLICATE_THRESHOLD,
            "generation_notes": {config: dict(sorted(counter.items())) for config, counter in generated.notes.items()},
            "discipline_labels": _mapping_rows(),
            "audit": {
                "target": audit.TARGET,
                "from_file": Path(args.audit_results).name if args.audit_results else None,
                **report.to_dict(),
                "letter_balance": {
                    config: {split: vars(b) for split, b in splits.items()} for config, splits in balance.items()
                },
            },
            "skipped": policy.report(),
        },
    )
    written = folder.write(args.out, manifest, _card(folder, manifest, generated, report, balance))
    logger.info("built, audited and written in %.1f s", time.perf_counter() - started)
    return written


def _card(
    folder: DatasetFolder,
    manifest: dict[str, Any],
    generated: Generated,
    report: audit.AuditReport,
    balance: dict[str, Any],
):
    total = sum(n for splits in folder.counts.values() for n in splits.values())
    card_data = DatasetCardData(
        pretty_name="CrossTrace ten-option science questions",
        license=LICENSE,
        language=["en"],
        task_categories=["question-answering", "multiple-choice"],
        task_ids=["multiple-choice-qa"],
        tags=["science", "scientific-reasoning", "multiple-choice", "verifiable-rewards", "crosstrace", "wildsci"],
        size_categories=[size_category(total)],
        configs=folder.configs_metadata(default=CROSSTRACE_CONFIG),
    )
    return render_dataset_card(
        "mcq.md",
        card_data,
        manifest=manifest,
        counts=folder.counts,
        discipline_counts=_discipline_counts(generated.records),
        lengths=_lengths(generated.records),
        mapping=_mapping_rows(),
        audit_table=audit.audit_table(report.by_config),
        source_audit_table=audit.audit_table(report.by_source, title="generator"),
        letter_balance=balance,
        wildsci_config=WILDSCI_CONFIG in generated.records,
        crosstrace_config=CROSSTRACE_CONFIG,
        engine_config=ENGINE_CONFIG,
        threshold=crosstrace_questions.NEAR_DUPLICATE_THRESHOLD,
        min_order_steps=crosstrace_questions.MIN_ORDER_STEPS,
        target_pct=round(100 * audit.TARGET),
    )


def run(args: McqArguments) -> int:
    refuse_overlap(
        args.out, {"--crosstrace": args.crosstrace, "--wildsci": args.wildsci, "--audit-results": args.audit_results}
    )
    manifest = build(args)
    print(f"wrote {args.out}: {manifest['counts']}, {len(manifest['skipped'])} bad record(s) skipped")
    return 0
