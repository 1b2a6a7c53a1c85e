"""CrossTrace: grounded hypothesis-generation traces as a hub-ready dataset (configs all, biomedical, ai_ml, cross_domain, hypogen).

    python -m crosstrace.builders crosstrace --source ../shared/data/crosstrace --out build/crosstrace
    python -m crosstrace.builders crosstrace --source hf://datasets/<org>/<repo>/<folder> --out build/crosstrace
    python -m crosstrace.builders crosstrace --source <folder> --out <dir> --on-error skip   # skip and report bad lines

`--source` holds the released chat splits (train_ours_only.jsonl, val.jsonl, test_ours.jsonl,
test_hypogen.jsonl, manifest.json) and/or upstream's raw all_traces.jsonl. Raw records come
first when present: they carry grounding and domains, so nothing is inferred (the chat files
then only say which split each record belongs to; without them the raw records are split by
`--seed`). Otherwise train and validation domains are inferred (crosstrace.domains).

The folder: <out>/<config>/<split>.parquet, manifest.json (counts, seed, sha256 of every source
and data file, library versions, skipped lines, checks), README.md (the dataset card). Two builds
of the same source are byte-identical. Time per stage is logged (bench/bench_crosstrace_build.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from huggingface_hub import DatasetCardData

from crosstrace.builders.crosstrace_checks import BuiltRecord, run_checks
from crosstrace.builders.fetch import resolve_source
from crosstrace.cards import render_dataset_card
from crosstrace.domains import (
    DOMAINS,
    RELEASE_DOMAIN_TOTALS,
    RELEASE_SPLIT_FRACTIONS,
    Featurizer,
    infer_domains,
    record_features,
    split_counts,
)
from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.hub_folder import DatasetFolder, sha256_file
from crosstrace.paths import refuse_overlap
from crosstrace.schema import COMPLIANCE_VERSION, DEFAULT_SYSTEM_PROMPT, TraceRecord, record_id
from crosstrace.sources.crosstrace_raw import RAW_FILE, read_raw_file
from crosstrace.sources.crosstrace_release import (
    HYPOGEN_TEST_FILE,
    RELEASE_FILES,
    RELEASE_MANIFEST,
    SourceRecord,
    has_release,
    read_chat_file,
    read_release,
    read_split_settings,
)

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SOURCE_FILES = (*RELEASE_FILES.values(), HYPOGEN_TEST_FILE, RELEASE_MANIFEST, RAW_FILE)
DEFAULT_SEED = 42  # the release's own split seed
HUB_ORG_ENV = "CROSSTRACE_HUB_ORG"
DATASET_NAME = "crosstrace"

_PRIOR_WORK = pa.struct([("ref", pa.string()), ("doi", pa.string())])
_GROUNDING = pa.struct([("step", pa.int32()), ("source", pa.string())])
_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
# (name, type, what it holds): the parquet schema and the card's column table, from one list.
COLUMNS = [
    ("id", pa.string(), "stable id: the first 16 hex digits of sha256 over source, user and assistant text"),
    ("source", pa.string(), "`crosstrace` (the release's own traces) or `hypogen` (HypoGen test records)"),
    ("domain", pa.string(), "`ai_ml`, `biomedical`, `cross_domain`; `cs_ml` for HypoGen"),
    ("domain_source", pa.string(), "`released` (the source says so) or `inferred` (see Domain labels)"),
    (
        "domain_confidence",
        pa.float64(),
        "1.0 when released; the classifier's probability of the assigned domain when inferred",
    ),
    ("paper_id", pa.string(), "`arxiv:...` or `doi:...` of the source paper; null where the source has none"),
    ("patterns", pa.list_(pa.string()), "discovery patterns (2-3 of 8); empty where the source has none"),
    ("extraction_confidence", pa.float64(), "the extractor's confidence (0-1); null where the source has none"),
    ("explicitness", pa.float64(), "how explicitly the paper states the trace (0-1); null where the source has none"),
    ("field_context", pa.string(), "Input: the state of knowledge in the field"),
    ("conventional_assumption", pa.string(), "Input: the assumption being challenged"),
    ("key_prior_work", pa.list_(_PRIOR_WORK), "Input: prior work as {ref, doi}; doi null where the source has none"),
    ("spark", pa.string(), "Output: the core insight (3-8 words)"),
    ("steps", pa.list_(pa.string()), "Trace: 3-6 reasoning steps; HypoGen: one first-person reasoning paragraph"),
    (
        "grounding",
        pa.list_(_GROUNDING),
        "Trace: {step (1-based), source: \"Section, paragraph N: 'quote'\"}; empty where the source has none",
    ),
    ("hypothesis", pa.string(), "Output: the hypothesis"),
    ("approach", pa.string(), "Output: how to test it; null for HypoGen"),
    ("messages", pa.list_(_MESSAGE), "the chat rendering [system, user, assistant], as released"),
]
SCHEMA = pa.schema([(name, kind) for name, kind, _ in COLUMNS])


@dataclass
class CrossTraceArguments:
    """`python -m crosstrace.builders crosstrace`: the source, the output and the split settings."""

    source: str = field(
        metadata={"help": "release folder, hf://datasets/<org>/<repo>[/<folder>], or an http(s) URL of such a folder"}
    )
    out: Path = field(metadata={"help": "output folder (replaced as a whole)"})
    on_error: Literal["raise", "skip"] = field(
        default="raise",
        metadata={"help": "stop at the first bad line (raise) or skip it and report it in the manifest (skip)"},
    )
    seed: int = field(
        default=DEFAULT_SEED,
        metadata={"help": "seed of the cross-validation folds, and of the split when only raw records are given"},
    )
    hub_org: str | None = field(
        default=None,
        metadata={
            "help": f"Hub namespace the card's quick start loads from (default ${HUB_ORG_ENV}; unset: a local path)"
        },
    )
    domain_totals: str = field(
        default=",".join(f"{name}={count}" for name, count in RELEASE_DOMAIN_TOTALS.items()),
        metadata={
            "help": "per-domain record totals before the release's split, as ai_ml=N,biomedical=N,cross_domain=N; "
            "the per-split counts that inferred domains must match follow from them (default: the release's)"
        },
    )

    def options(self) -> BuildOptions:
        return BuildOptions(
            self.source,
            Path(self.out),
            self.on_error,
            self.seed,
            parse_domain_totals(self.domain_totals),
            self.hub_org or os.environ.get(HUB_ORG_ENV),
        )

    def __post_init__(self) -> None:
        parse_domain_totals(self.domain_totals)  # a bad value is a command-line error, before anything is read


def parse_domain_totals(value: str | dict[str, int]) -> dict[str, int]:
    """`ai_ml=N,biomedical=N,cross_domain=N` (or that mapping, from YAML) -> {domain: N}."""
    try:
        pairs = value.items() if isinstance(value, dict) else (part.split("=") for part in value.split(","))
        totals = {name: int(count) for name, count in pairs}
    except (ValueError, AttributeError):
        raise ValueError(f"--domain_totals: expected ai_ml=N,biomedical=N,cross_domain=N, got {value!r}") from None
    if set(totals) != set(DOMAINS) or min(totals.values()) < 0 or not sum(totals.values()):
        raise ValueError(f"--domain_totals: give a non-negative total for each of {', '.join(DOMAINS)}, not all zero")
    return totals


@dataclass
class BuildOptions:
    source: str
    out: Path
    on_error: str = "raise"
    seed: int = DEFAULT_SEED
    domain_totals: dict[str, int] = field(default_factory=lambda: dict(RELEASE_DOMAIN_TOTALS))
    hub_org: str | None = None

    @property
    def repo_id(self) -> str:
        return f"{self.hub_org}/{DATASET_NAME}" if self.hub_org else f"path/to/{DATASET_NAME}"


@dataclass
class Sources:
    splits: dict[str, list[SourceRecord]]
    hypogen: list[SourceRecord]
    split_settings: dict[str, Any]
    files: list[Path]
    description: str


class StageTimer:
    """Wall and CPU time (this process, all threads) of each named stage, logged as it ends.

    CPU time is reported beside wall time because on a shared machine wall time mostly measures
    the neighbours; bench/bench_crosstrace_build.py prints both.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start, start_cpu = time.perf_counter(), time.process_time()
        yield
        self.seconds[name] = time.perf_counter() - start
        self.cpu_seconds[name] = time.process_time() - start_cpu
        logger.info("%s: %.2f s (CPU %.2f s)", name, self.seconds[name], self.cpu_seconds[name])


# ----------------------------------------------------------------------------- reading


def _content_key(record: TraceRecord) -> str:
    # Raw and chat renderings of one trace may differ in whitespace or case; their field context
    # and hypothesis still identify it.
    return " ".join(f"{record.field_context}\n{record.hypothesis}".casefold().split())


def _split_raw_by_seed(
    raw: list[SourceRecord], seed: int, fractions: dict[str, float]
) -> dict[str, list[SourceRecord]]:
    """Stratified by domain like the release: per domain int(n*train_pct) train, int(n*val_pct) validation, rest test."""
    splits: dict[str, list[SourceRecord]] = {split: [] for split in SPLITS}
    by_domain: dict[str, list[SourceRecord]] = {}
    for item in raw:
        by_domain.setdefault(item.record.domain or "", []).append(item)
    for domain in sorted(by_domain):
        ordered = sorted(
            by_domain[domain], key=lambda item: hashlib.sha256(f"{seed}:{record_id(item.record)}".encode()).hexdigest()
        )
        train, validation = int(len(ordered) * fractions["train_pct"]), int(len(ordered) * fractions["val_pct"])
        splits["train"] += ordered[:train]
        splits["validation"] += ordered[train : train + validation]
        splits["test"] += ordered[train + validation :]
    return {split: sorted(items, key=lambda item: item.line) for split, items in splits.items()}


def _split_raw_like_release(
    raw: list[SourceRecord], release: dict[str, list[SourceRecord]], policy: ErrorPolicy
) -> dict[str, list[SourceRecord]]:
    """Each raw record goes to the split of the released chat record with the same content."""
    split_of = {_content_key(item.record): split for split, items in release.items() for item in items}
    splits: dict[str, list[SourceRecord]] = {split: [] for split in SPLITS}
    matched = set()
    for item in raw:
        key = _content_key(item.record)
        if key not in split_of:
            policy.handle(
                DataError(item.path, item.line, "input.field_context", "matches no record of the released chat splits")
            )
            continue
        matched.add(key)
        splits[split_of[key]].append(item)
    for split, items in release.items():
        for item in items:
            if _content_key(item.record) not in matched:
                policy.handle(
                    DataError(item.path, item.line, None, f"released {split} record has no raw record in {RAW_FILE}")
                )
    return splits


def read_sources(folder: Path, policy: ErrorPolicy, seed: int) -> Sources:
    raw_path = folder / RAW_FILE
    hypogen_path = folder / HYPOGEN_TEST_FILE
    settings = {**RELEASE_SPLIT_FRACTIONS, **read_split_settings(folder)}
    if not raw_path.is_file():
        if not has_release(folder):
            missing = [name for name in RELEASE_FILES.values() if not (folder / name).is_file()]
            raise DataError(
                folder,
                None,
                None,
                f"neither {RAW_FILE} nor the released chat splits here (missing {', '.join(missing)})",
            )
        release = read_release(folder, policy)
        return Sources(release.splits, release.hypogen_test, settings, release.files, "CrossTrace release chat splits")
    files = [raw_path]
    if has_release(folder):
        release = read_release(folder, policy)
        system_prompt = next(
            (item.record.system_prompt for items in release.splits.values() for item in items), DEFAULT_SYSTEM_PROMPT
        )
        raw = read_raw_file(raw_path, policy, system_prompt)
        return Sources(
            _split_raw_like_release(raw, release.splits, policy),
            release.hypogen_test,
            settings,
            [*files, *release.files],
            f"upstream raw records ({RAW_FILE}) in the release's splits",
        )
    raw = read_raw_file(raw_path, policy, DEFAULT_SYSTEM_PROMPT)
    hypogen = read_chat_file(hypogen_path, "hypogen", policy) if hypogen_path.is_file() else []
    files += [hypogen_path] if hypogen_path.is_file() else []
    files += [folder / RELEASE_MANIFEST] if (folder / RELEASE_MANIFEST).is_file() else []
    description = f"upstream raw records ({RAW_FILE}), split by seed {seed}"
    return Sources(_split_raw_by_seed(raw, seed, settings), hypogen, settings, files, description)


# ----------------------------------------------------------------------------- domains


def _scaled(counts: dict[str, int], size: int) -> dict[str, int]:
    """`counts` scaled to sum to `size` (largest remainder), for splits that lost skipped lines."""
    total = sum(counts.values())
    exact = {domain: count * size / total for domain, count in counts.items()}
    scaled = {domain: int(value) for domain, value in exact.items()}
    for domain in sorted(exact, key=lambda d: (scaled[d] - exact[d], d))[: size - sum(scaled.values())]:
        scaled[domain] += 1
    return scaled


@dataclass
class DomainLabels:
    # Keyed by id(record): records are mutable dataclasses, alive for the whole build.
    source: dict[int, str]  # id(record) -> released | inferred
    confidence: dict[int, float]
    report: dict[str, Any]


def drop_unknown_domains(sources: Sources, policy: ErrorPolicy) -> None:
    """A record whose released domain is none of DOMAINS is an error, or skipped and counted under skip."""
    for split in SPLITS:
        kept = []
        for item in sources.splits[split]:
            if item.record.domain is not None and item.record.domain not in DOMAINS:
                reason = f"{item.record.domain!r} is not one of {', '.join(DOMAINS)}"
                policy.handle(DataError(item.path, item.line, "metadata.domain", reason))
                continue
            kept.append(item)
        sources.splits[split] = kept


def label_domains(
    sources: Sources, totals: dict[str, int], seed: int, featurize: Featurizer = record_features
) -> DomainLabels:
    """Fill in every missing domain; report the method, targets and cross-validated accuracy."""
    all_items = [item for split in SPLITS for item in sources.splits[split]]
    labelled = [item.record for item in all_items if item.record.domain is not None]
    unlabelled = {
        split: [item.record for item in sources.splits[split] if item.record.domain is None] for split in SPLITS
    }
    unlabelled = {split: records for split, records in unlabelled.items() if records}
    source = {id(record): "released" for record in labelled}
    confidence = {id(record): 1.0 for record in labelled}
    if not unlabelled:
        return DomainLabels(source, confidence, {"inferred": False, "reason": "every record has a released domain"})
    if not labelled:
        where = next(item.path for item in all_items)
        raise DataError(
            where,
            None,
            "metadata.domain",
            "no record has a released domain, so there is nothing to learn domains from (the release's test split has them)",
        )
    targets = split_counts(totals, sources.split_settings["train_pct"], sources.split_settings["val_pct"])
    adjusted = {split: _scaled(targets[split], len(records)) for split, records in unlabelled.items()}
    labelled_counts = Counter(record.domain for record in labelled)
    inference = infer_domains(labelled, unlabelled, adjusted, seed=seed, featurize=featurize)
    for split, records in unlabelled.items():
        for record, domain, probability in zip(
            records, inference.labels[split], inference.confidence[split], strict=True
        ):
            record.domain = domain
            source[id(record)] = "inferred"
            confidence[id(record)] = probability
    report = {
        "inferred": True,
        "domain_totals": totals,
        "split_counts": targets,
        "targets_adjusted_for_skipped": adjusted != {split: targets[split] for split in adjusted},
        "labelled_counts": {domain: labelled_counts.get(domain, 0) for domain in DOMAINS},
        "labelled_counts_match_test_split": {domain: labelled_counts.get(domain, 0) for domain in DOMAINS}
        == targets["test"],
        **inference.to_manifest(),
    }
    return DomainLabels(source, confidence, report)


# ----------------------------------------------------------------------------- rows


def to_row(item: BuiltRecord, labels: DomainLabels) -> dict[str, Any]:
    record = item.record
    return {
        "id": item.id,
        "source": record.source,
        "domain": record.domain,
        # HypoGen records are not in `labels`: their domain (cs_ml) is always released.
        "domain_source": labels.source.get(id(record), "released"),
        "domain_confidence": labels.confidence.get(id(record), 1.0),
        "paper_id": record.paper_id,
        "patterns": record.patterns,
        "extraction_confidence": record.extraction_confidence,
        "explicitness": record.explicitness,
        "field_context": record.field_context,
        "conventional_assumption": record.conventional_assumption,
        "key_prior_work": [{"ref": work.ref, "doi": work.doi} for work in record.key_prior_work],
        "spark": record.spark,
        "steps": record.steps,
        "grounding": [{"step": g.step, "source": g.source} for g in record.grounding],
        "hypothesis": record.hypothesis,
        "approach": record.approach,
        "messages": record.to_messages(),
    }


def _built(items: list[SourceRecord], split: str) -> list[BuiltRecord]:
    return [BuiltRecord(item.record, split, item.path, item.line, record_id(item.record)) for item in items]


def assemble(records: dict[str, list[BuiltRecord]], hypogen: list[BuiltRecord], labels: DomainLabels) -> DatasetFolder:
    folder = DatasetFolder(SCHEMA)
    rows = {split: [to_row(item, labels) for item in records[split]] for split in SPLITS}
    for split in SPLITS:
        folder.add_split("all", split, rows[split])
    for domain in DOMAINS:
        for split in SPLITS:
            subset = [row for row in rows[split] if row["domain"] == domain]
            if subset:
                folder.add_split(domain, split, subset)
    if hypogen:
        folder.add_split("hypogen", "test", [to_row(item, labels) for item in hypogen])
    return folder


def pattern_counts(records: dict[str, list[BuiltRecord]]) -> dict[str, dict[str, int]]:
    """pattern -> split -> records showing it (only records whose source lists patterns)."""
    counts: dict[str, Counter] = {}
    for split, items in records.items():
        for item in items:
            for pattern in item.record.patterns:
                counts.setdefault(pattern, Counter())[split] += 1
    return {
        pattern: {split: counts[pattern].get(split, 0) for split in SPLITS}
        for pattern in sorted(counts, key=lambda p: (-sum(counts[p].values()), p))
    }


# ----------------------------------------------------------------------------- card and build


def render_card(folder: DatasetFolder, manifest: dict[str, Any], repo_id: str):
    card_data = DatasetCardData(
        pretty_name="CrossTrace",
        license="cc-by-4.0",
        language=["en"],
        task_categories=["text-generation"],
        size_categories=["1K<n<10K"],
        tags=["scientific-reasoning", "hypothesis-generation", "reasoning-traces", "sft"],
        configs=folder.configs_metadata("all"),
    )
    return render_dataset_card(
        "crosstrace.md",
        card_data,
        manifest=manifest,
        columns=[(name, str(kind), description) for name, kind, description in COLUMNS],
        configs=list(manifest["counts"]),
        splits=SPLITS,
        repo_id=repo_id,
    )


def build(
    options: BuildOptions, timer: StageTimer | None = None, featurize: Featurizer = record_features
) -> dict[str, Any]:
    """Build the dataset folder; returns the manifest as written. (`featurize`: see crosstrace.domains.)"""
    timer = timer or StageTimer()
    policy = ErrorPolicy(options.on_error)
    with timer.stage("resolve source"):
        folder = resolve_source(options.source, SOURCE_FILES)
    with timer.stage("read and parse"):
        sources = read_sources(folder, policy, options.seed)
    with timer.stage("domain labels"):
        drop_unknown_domains(sources, policy)
        labels = label_domains(sources, options.domain_totals, options.seed, featurize)
    with timer.stage("rows and checks"):
        records = {split: _built(sources.splits[split], split) for split in SPLITS}
        hypogen = _built(sources.hypogen, "test")
        checks = run_checks([*(item for split in SPLITS for item in records[split]), *hypogen])
        dataset = assemble(records, hypogen, labels)
    with timer.stage("write folder"):
        manifest = dataset.manifest(
            DATASET_NAME,
            {
                "seed": options.seed,
                "source": {
                    "given": options.source,
                    "description": sources.description,
                    "files": {path.name: sha256_file(path) for path in sources.files},
                    "split_settings": sources.split_settings,
                },
                "build_parameters": {
                    "on_error": options.on_error,
                    "seed": options.seed,
                    "domain_totals": options.domain_totals,
                    "repo_id": options.repo_id,
                },
                "compliance_version": COMPLIANCE_VERSION,
                "domain_labels": labels.report,
                "patterns": pattern_counts(records),
                "checks": checks,
                "skipped": policy.report(),
                "skipped_count": len(policy.skipped),
            },
        )
        written = dataset.write(options.out, manifest, render_card(dataset, manifest, options.repo_id))
    return written


def run(args: CrossTraceArguments) -> int:
    refuse_overlap(args.out, {"--source": args.source})
    options = args.options()
    manifest = build(options)
    counts = ", ".join(
        f"{config} {'/'.join(str(n) for n in splits.values())}" for config, splits in manifest["counts"].items()
    )
    failed = {name: result for name, result in manifest["checks"].items() if not result["passed"]}
    print(
        f"wrote {options.out}: {counts}; skipped {manifest['skipped_count']}; checks {'failed: ' + ', '.join(failed) if failed else 'passed'}"
    )
    # A failed check (a record twice, a paper in two splits) is written down for inspection, and fails the command.
    for name, result in failed.items():
        first = result["findings"][0]
        print(
            f"error: check {name} failed ({result['count']} finding(s)), e.g. {first['reason']}: "
            f"{', '.join(first['records'])}; see {options.out / 'manifest.json'} (checks)",
            file=sys.stderr,
        )
    return 1 if failed else 0
