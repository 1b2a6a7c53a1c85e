"""The evaluation run folder's contract: file names, the results.json schema, and its readers.

`evaluate.py` writes `dacr_results/<run-id>/` (results.json, samples.jsonl, report.md, plots);
`evaluate.py compare`, the model card, the results dataset and the README table read it back
through `read_run` / `load_runs` here, so writer and readers agree on one schema version.
A malformed file is a `DataError` naming the file and field; under `ErrorPolicy("skip")` it is
counted and left out instead.

    >>> runs, policy = load_runs("dacr_results")
    >>> results = read_results("dacr_results/<run-id>")   # the raw dict, validated
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import read_json_object

SCHEMA_VERSION = 2
# Every version this code reads; an older file is upgraded in memory on reading (the file is left as it is).
#   2: a built dataset's `tasks.<task>.data.configs.<config>` counts `rows` read, `loaded` usable records and
#      `used` records actually scored (after --max_samples and the context; `data.evaluated` is their total).
#      Schema 1 called the usable records `used`, which read as "scored" (107 with 4 scored).
READABLE_VERSIONS = (1, 2)
RESULTS_NAME = "results.json"
SAMPLES_NAME = "samples.jsonl"
REPORT_NAME = "report.md"
DEFAULT_RESULTS_DIR = "dacr_results"
# A demo's own record, `dacr_results/<demo>-run/` (no results.json: not a run): scripts/demo.sh's
# stage times (crosstrace.stage_times) and the learning curve (crosstrace.evaluation.learning_curve).
STAGES_NAME = "stages.jsonl"
CURVE_JSON_NAME = "learning_curve.json"
CURVE_PNG_NAME = "learning_curve.png"


@dataclass(frozen=True)
class TaskResult:
    name: str
    metrics: dict[str, float | None]
    n: dict[str, int]
    ci95: dict[str, list[float]]
    scoring: Any
    data: dict[str, Any]
    breakdowns: dict[str, dict[str, dict[str, Any]]]
    skipped: dict[str, Any]
    # Metrics the run could not compute (no trap questions, no judge): listed, never averaged.
    undefined: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """One `dacr_results/<run-id>/` folder."""

    folder: Path
    raw: dict[str, Any]
    tasks: dict[str, TaskResult] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.raw["run_id"]

    @property
    def label(self) -> str:
        return self.raw.get("label") or ("fine-tuned" if self.adapter else "baseline")

    @property
    def timestamp(self) -> str:
        return str(self.raw.get("timestamp") or "")

    @property
    def model(self) -> str:
        return str(self.raw["model"].get("name_or_path") or "")

    @property
    def adapter(self) -> str | None:
        return self.raw["model"].get("adapter") or None

    @property
    def backend(self) -> str:
        return str(self.raw["model"].get("backend") or "")

    @property
    def plots(self) -> list[Path]:
        return sorted(self.folder.glob("*.png"))

    @property
    def samples_path(self) -> Path:
        return self.folder / SAMPLES_NAME

    def is_on_base(self, base_model: str) -> bool:
        """Whether this run used `base_model`, by Hub id or by a local folder of the same name."""
        return _model_name(self.model) == _model_name(base_model)


def _model_name(name_or_path: str) -> str:
    # "Qwen/Qwen2.5-7B-Instruct", "/models/Qwen2.5-7B-Instruct" (and "builtin:tiny-qwen2",
    # "test-org/tiny-qwen2") name the same model.
    return name_or_path.rstrip("/").replace("\\", "/").rsplit("/", 1)[-1].split(":")[-1].lower()


def _require(condition: bool, path: Path, field_name: str, reason: str) -> None:
    if not condition:
        raise DataError(path, None, field_name, reason)


def _number_map(value: Any, path: Path, field_name: str, kind: type, allow_null: bool = False) -> dict[str, Any]:
    _require(
        isinstance(value, dict),
        path,
        field_name,
        f"expected an object of {kind.__name__} values, got {type(value).__name__}",
    )
    for key, item in value.items():
        if item is None and allow_null:
            continue  # a metric that could not be computed on this run (e.g. no confidences): shown as "-"
        ok = (
            isinstance(item, int | float)
            and not isinstance(item, bool)
            and math.isfinite(item)
            and (kind is float or float(item).is_integer())
        )
        _require(ok, path, f"{field_name}.{key}", f"expected a finite {kind.__name__}, got {item!r}")
    return {key: None if item is None else kind(item) for key, item in value.items()}


def _parse_task(name: str, body: Any, path: Path) -> TaskResult:
    where = f"tasks.{name}"
    _require(isinstance(body, dict), path, where, "expected an object")
    _require("metrics" in body, path, f"{where}.metrics", "missing")
    metrics = _number_map(body["metrics"], path, f"{where}.metrics", float, allow_null=True)
    n = _number_map(body.get("n", {}), path, f"{where}.n", int)
    ci95 = body.get("ci95", {})
    _require(isinstance(ci95, dict), path, f"{where}.ci95", "expected an object of [low, high] pairs")
    intervals = {}
    for key, pair in ci95.items():
        if pair is None:
            continue  # no interval for a metric computed on nothing
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int | float) and math.isfinite(v) for v in pair)
        )
        _require(ok, path, f"{where}.ci95.{key}", f"expected [low, high], got {pair!r}")
        intervals[key] = [float(pair[0]), float(pair[1])]
    return TaskResult(
        name=name,
        metrics=metrics,
        n=n,
        ci95=intervals,
        scoring=body.get("scoring"),
        data=body.get("data") or {},
        breakdowns=body.get("breakdowns") or {},
        skipped=body.get("skipped") or {},
        undefined=tuple(str(m) for m in body.get("undefined_metrics") or () if m not in metrics),
    )


def read_run(results_file: str | Path) -> Run:
    """Parse and validate one results.json (raises DataError naming the file and field)."""
    path = Path(results_file)
    raw = read_json_object(path)
    version = raw.get("schema_version")
    _require(
        version in READABLE_VERSIONS,
        path,
        "schema_version",
        f"this code reads results schemas {', '.join(map(str, READABLE_VERSIONS))}, the file says {version!r}",
    )
    _require(isinstance(raw.get("run_id"), str) and raw["run_id"], path, "run_id", "missing or not a string")
    _require(
        isinstance(raw.get("model"), dict), path, "model", "expected an object with name_or_path, adapter, backend"
    )
    _require(
        isinstance(raw.get("tasks"), dict) and raw["tasks"],
        path,
        "tasks",
        "expected a non-empty object of task results",
    )
    if version == 1:  # after the checks above: the upgrade walks `tasks`
        _upgrade_from_1(raw)
    tasks = {name: _parse_task(name, body, path) for name, body in raw["tasks"].items()}
    return Run(folder=path.parent, raw=raw, tasks=tasks)


def _upgrade_from_1(raw: dict[str, Any]) -> None:
    """Schema 1 -> 2 in place: a config's usable-record count `used` is `loaded` (how many were scored is unknown)."""
    for body in raw["tasks"].values():
        data = body.get("data") if isinstance(body, dict) else None
        configs = data.get("configs") if isinstance(data, dict) else None
        for info in (configs or {}).values() if isinstance(configs, dict) else ():
            if isinstance(info, dict) and "used" in info and "loaded" not in info:
                info["loaded"] = info.pop("used")
    raw["schema_version"] = SCHEMA_VERSION


def load_runs(results_dir: str | Path, policy: ErrorPolicy | None = None) -> tuple[list[Run], ErrorPolicy]:
    """Every `<results_dir>/*/results.json`, oldest first (then by run id, for a stable order).

    A missing folder is an empty list: "no results yet" is a state the cards report, not an error.
    """
    policy = policy or ErrorPolicy()
    runs = []
    folder = Path(results_dir)
    for results_file in sorted(folder.glob(f"*/{RESULTS_NAME}")):
        try:
            runs.append(read_run(results_file))
        except DataError as error:
            policy.handle(error)
    run_ids = [run.run_id for run in runs]
    duplicates = sorted({rid for rid in run_ids if run_ids.count(rid) > 1})
    if duplicates:
        policy.handle(DataError(folder, None, "run_id", f"run ids used by more than one folder: {duplicates}"))
    runs.sort(key=lambda run: (run.timestamp, run.run_id))
    return runs, policy


def read_results(path: str | Path) -> dict[str, Any]:
    """A results.json, given the file or its run folder (raises DataError naming the file)."""
    path = Path(path)
    path = path / RESULTS_NAME if path.is_dir() else path
    if not path.is_file():
        raise DataError(path, None, None, "not found: pass a run folder written by evaluate.py (or its results.json)")
    return read_run(path).raw
