"""`dacr_results/` as a hub-ready dataset folder: configs `results` and `details`, and a card.

    python -m crosstrace.publish.results_dataset --results dacr_results --out build/crosstrace-results --hub-org <org>

`results` has one row per run and task (metrics as a list of {name, value, n, ci95_low,
ci95_high}); `details` one row per line of each run's samples.jsonl. The run files themselves
(`results.json`, `report.md`, plots) are copied under `runs/<run-id>/`. Local paths in anything
copied are replaced (and counted in the manifest); a bad samples line is a DataError, or under
`--on-error skip` a counted, listed skip. Every file read or copied is checked first, and refused by
name when it is a symbolic link or above its size limit (crosstrace/publish/source_tree.py).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from huggingface_hub import DatasetCardData

from crosstrace.cards import render_dataset_card
from crosstrace.cli import run_command
from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.hub_folder import MANIFEST_NAME, DatasetFolder, sha256_file, size_category
from crosstrace.jsonio import dumps, iter_jsonl
from crosstrace.paths import REPO_ROOT, refuse_overlap
from crosstrace.publish.limits import Limits
from crosstrace.publish.repos import HUB_ORG_ENV, HubOrgError, ReleaseRepos, resolve_hub_org
from crosstrace.publish.source_tree import SourceRefused, copy_checked, read_text_checked, refusal
from crosstrace.publish.tables import all_runs_section
from crosstrace.results_schema import DEFAULT_RESULTS_DIR, REPORT_NAME, RESULTS_NAME, SAMPLES_NAME, Run, load_runs
from crosstrace.sanitize import strip_local_paths

SPLIT = "train"
RUNS_DIR = "runs"
LICENSE = "cc-by-4.0"

METRIC = pa.struct(
    [
        ("name", pa.string()),
        ("value", pa.float64()),
        ("n", pa.int64()),
        ("ci95_low", pa.float64()),
        ("ci95_high", pa.float64()),
    ]
)
RESULTS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("timestamp", pa.string()),
        ("label", pa.string()),
        ("model", pa.string()),
        ("adapter", pa.string()),
        ("backend", pa.string()),
        ("task", pa.string()),
        ("scoring", pa.string()),
        ("metrics", pa.list_(METRIC)),
        ("data", pa.string()),
        ("breakdowns", pa.string()),
        ("skipped", pa.string()),
        ("decoding", pa.string()),
        ("prompt_hash", pa.string()),
        ("versions", pa.string()),
    ]
)
DETAILS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("label", pa.string()),
        ("task", pa.string()),
        ("sample_index", pa.int64()),
        ("sample", pa.string()),
    ]
)


def _json(value: Any) -> str:
    return dumps(value, sort_keys=True)


class _PathCounter:
    """Strips local paths from everything published and counts what it replaced."""

    def __init__(self) -> None:
        self.replaced = 0

    def __call__(self, value: Any) -> Any:
        clean, n = strip_local_paths(value)
        self.replaced += n
        return clean


def result_rows(run: Run, clean: _PathCounter) -> list[dict[str, Any]]:
    raw = clean(run.raw)
    rows = []
    for task, result in run.tasks.items():
        metrics = [
            {
                "name": name,
                "value": value,
                "n": result.n.get(name),
                "ci95_low": result.ci95[name][0] if name in result.ci95 else None,
                "ci95_high": result.ci95[name][1] if name in result.ci95 else None,
            }
            for name, value in result.metrics.items()
        ]
        body = raw["tasks"][task]
        rows.append(
            {
                "run_id": run.run_id,
                "timestamp": run.timestamp,
                "label": run.label,
                "model": raw["model"].get("name_or_path"),
                "adapter": raw["model"].get("adapter"),
                "backend": run.backend,
                "task": task,
                "scoring": result.scoring
                if isinstance(result.scoring, str) or result.scoring is None
                else _json(result.scoring),
                "metrics": metrics,
                "data": _json(body.get("data") or {}),
                "breakdowns": _json(body.get("breakdowns") or {}),
                "skipped": _json(body.get("skipped") or {}),
                "decoding": _json(raw.get("decoding") or {}),
                "prompt_hash": raw.get("prompt_hash"),
                "versions": _json(raw.get("versions") or {}),
            }
        )
    return rows


def detail_rows(run: Run, clean: _PathCounter, policy: ErrorPolicy) -> list[dict[str, Any]]:
    """One row per samples.jsonl line; a line without a task is only accepted in a one-task run."""
    if not run.samples_path.is_file():
        return []
    only_task = next(iter(run.tasks)) if len(run.tasks) == 1 else None
    rows = []
    for index, (line, sample) in enumerate(iter_jsonl(run.samples_path, policy, unique=True)):
        task = sample.get("task") or only_task
        if not isinstance(task, str) or task not in run.tasks:
            reason = (
                f"names task {task!r}, which {RESULTS_NAME} does not score"
                if task
                else f"no task, and the run scores several ({sorted(run.tasks)})"
            )
            policy.handle(DataError(run.samples_path, line, "task", reason))
            continue
        try:
            text = dumps(clean(sample), sort_keys=True, allow_nan=False)
        except ValueError:  # evaluate.py never writes these: published, they would break strict JSON readers
            policy.handle(DataError(run.samples_path, line, None, "holds NaN or Infinity, which is not JSON"))
            continue
        rows.append({"run_id": run.run_id, "label": run.label, "task": task, "sample_index": index, "sample": text})
    return rows


def refused_inputs(results_dir: str | Path, limits: Limits) -> list[str]:
    """What `load_runs` and this module would read or copy from `results_dir` but must not: a linked
    run folder, a linked file, a file above its limit. Checked before any of them is opened."""
    root = Path(results_dir)
    if not root.is_dir():
        return []
    problems = []
    for run_dir in sorted(root.iterdir()):
        if not os.path.lexists(run_dir / RESULTS_NAME):
            continue
        if run_dir.is_symlink():
            problems.append(refusal(run_dir, root, limits.file_refusal))
            continue
        for path in sorted(run_dir.iterdir()):
            if path.name in (RESULTS_NAME, REPORT_NAME):
                problems.append(refusal(path, root, limits.read_refusal))
            elif path.name == SAMPLES_NAME or path.suffix == ".png":  # samples are read line by line
                problems.append(refusal(path, root, limits.file_refusal))
    return [problem for problem in problems if problem]


def _run_files(runs: list[Run], clean: _PathCounter, root: Path, limits: Limits) -> dict[str, bytes | Path]:
    """runs/<run-id>/: results.json and report.md (paths stripped, in memory) and the plots (copied as they are)."""
    files: dict[str, bytes | Path] = {}
    for run in runs:
        prefix = f"{RUNS_DIR}/{run.run_id}"
        files[f"{prefix}/{RESULTS_NAME}"] = (dumps(clean(run.raw), indent=2) + "\n").encode()
        if (run.folder / REPORT_NAME).is_file():
            report = read_text_checked(run.folder / REPORT_NAME, root, limits)
            files[f"{prefix}/{REPORT_NAME}"] = clean(report).encode()
        files.update({f"{prefix}/{png.name}": png for png in run.plots})
    return files


def _write_files(files: dict[str, bytes | Path], out_dir: Path, root: Path, limits: Limits) -> dict[str, str]:
    for relative, content in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            copy_checked(content, root, target, limits)
        else:
            target.write_bytes(content)
    return {relative: sha256_file(out_dir / relative) for relative in files}


def build_results_dataset(
    results_dir: str | Path,
    out_dir: str | Path,
    repos: ReleaseRepos,
    policy: ErrorPolicy | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Write the folder; returns its manifest. Raises DataError on bad input unless `policy` skips,
    and SourceRefused (a DataError) naming every file it will not read, whatever the policy."""
    policy, limits = policy or ErrorPolicy(), limits or Limits()
    out_dir = Path(out_dir)
    refused = refused_inputs(results_dir, limits)
    if refused:
        raise SourceRefused(results_dir, refused)
    runs, policy = load_runs(results_dir, policy)
    if not runs:
        raise DataError(
            results_dir, None, None, f"no {RESULTS_NAME} under it: run evaluate.py first (nothing to publish)"
        )
    clean = _PathCounter()
    folder = DatasetFolder(RESULTS_SCHEMA, config_schemas={"results": RESULTS_SCHEMA, "details": DETAILS_SCHEMA})
    results = [row for run in runs for row in result_rows(run, clean)]
    details = [row for run in runs for row in detail_rows(run, clean, policy)]
    folder.add_split("results", SPLIT, results)
    folder.add_split("details", SPLIT, details)
    manifest = folder.manifest(
        name="crosstrace-results",
        # The skipped records name their files: local paths, stripped like everything published.
        extra={"runs": [run.run_id for run in runs], "skipped": clean(policy.report())},
    )
    card_data = DatasetCardData(
        pretty_name="CrossTrace evaluation results",
        license=LICENSE,
        language=["en"],
        task_categories=["text-generation"],
        tags=["evaluation", "crosstrace", "dacr-bench", "scientific-reasoning"],
        size_categories=[size_category(len(details))],
        configs=folder.configs_metadata(default="results"),
    )
    run_files = _run_files(runs, clean, Path(results_dir), limits)
    card = render_dataset_card(
        "results.md",
        card_data,
        repos=repos,
        counts={"results": len(results), "details": len(details)},
        all_runs=all_runs_section(runs, heading_level=3),
        paths_replaced=clean.replaced,
        skipped=len(policy.skipped),
    )
    manifest["local_paths_replaced"] = clean.replaced
    written = folder.write(out_dir, manifest, card)
    # The run files are not data files of a config; they join the manifest's checksums all the same.
    written["files"].update(_write_files(run_files, out_dir, Path(results_dir), limits))
    (out_dir / MANIFEST_NAME).write_text(dumps(written, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written


@dataclass
class ResultsDatasetArguments:
    out: Path = field(metadata={"help": "the dataset folder to write (replaced as a whole)"})
    results: Path = field(default=REPO_ROOT / DEFAULT_RESULTS_DIR, metadata={"help": "folder of evaluation runs"})
    hub_org: str | None = field(
        default=None, metadata={"help": f"Hub user or organisation of the release; unset: ${HUB_ORG_ENV}"}
    )
    on_error: Literal["raise", "skip"] = field(
        default="raise",
        metadata={
            "help": "a bad samples line stops the build (raise) or is skipped and listed in the manifest (skip)"
        },
    )


def run(args: ResultsDatasetArguments) -> int:
    refuse_overlap(args.out, {"--results": args.results})
    manifest = build_results_dataset(
        args.results, args.out, ReleaseRepos(resolve_hub_org(args.hub_org)), ErrorPolicy(args.on_error)
    )
    print(
        f"wrote {args.out}: {manifest['counts']}, {len(manifest['skipped'])} skipped, {manifest['local_paths_replaced']} local path(s) replaced"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        ResultsDatasetArguments,
        run,
        argv,
        prog="python -m crosstrace.publish.results_dataset",
        description=__doc__,
        errors=(DataError, HubOrgError),
    )


if __name__ == "__main__":
    sys.exit(main())
