"""Fuzzing every reader and entry point with corrupted copies of valid inputs (issue 11).

Each target is a command a user runs (`evaluate.py score` on every input of each task, `evaluate.py
compare`, `python -m crosstrace.builders crosstrace`, `upload.py results`), called in process through
its `main(argv)`, or a reader without a command of its own (resumed generations; a training data file,
through the mixture reader `train.py` calls: train.py's own command is tested on recipe and data
mistakes in tests/test_train_hardening.py; the WildSci, DACR tuning and HypoGen sources of the
builders). `evaluate.py` generation runs read task data with the same readers as `score`. One file of
a valid input is corrupted, one way per test, at a place hypothesis draws (derandomized: the same
cases every run):

    truncate, wrong_type, missing_field, nesting, huge_number, bad_encoding, lone_surrogate,
    duplicate, nan                                                                         (harmful)
    extra_field, huge_line, bom, crlf, unicode_separators                                   (harmless)

and the outcome is put in one class:

    correct    exit 0 and the same result as the valid input
    clear      non-zero exit (or a DataError) whose message names the corrupted file
    skipped    exit 0, a different result, and the run said what it left out or found (counted)
    traceback  an exception other than a DataError escaped
    unclear    non-zero exit without naming the file
    exit0_with_problem  exit 0, a different result, the problem only inside output files
    silent     exit 0, a different result, nothing said anywhere

Only the first three may happen, and a harmless corruption must give `correct`. Targets with an
`--on_error skip` mode run both ways. The tally per class prints at the end of the module:

    python -m pytest -q -s tests/test_fuzz_inputs.py
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import hashlib
import io
import json
import logging
import re
import shutil
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosstrace.errors import DataError, ErrorPolicy
from scripts import load_script

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HARMFUL = (
    "truncate",
    "wrong_type",
    "missing_field",
    "nesting",
    "huge_number",
    "bad_encoding",
    "lone_surrogate",
    "duplicate",
    "nan",
)
HARMLESS = ("extra_field", "huge_line", "bom", "crlf", "unicode_separators")
ALLOWED = {"correct", "clear", "skipped"}
CLASSES = ("correct", "clear", "skipped", "traceback", "unclear", "exit0_with_problem", "silent")
TALLY: Counter[tuple[str, str]] = Counter()
EXAMPLES = 2  # per target, corruption and mode: about 600 runs in all

FieldPath = tuple[str | int, ...]


# ----------------------------------------------------------------------------- running one command


@dataclass
class Run:
    code: int | None  # None: an exception escaped
    text: str  # stdout, stderr and log records
    result: Any = None  # what the command produced, comparable with the valid input's
    reported: bool = False  # the run said (stdout/stderr/DataError) that it skipped or found something
    problems_in_files: bool = False  # its output files list skipped records or problems


def call(function: Callable[[], int]) -> tuple[int | None, str]:
    """(exit code, everything printed or logged); a DataError is exit 1 with its message, any other
    exception exit None with its traceback."""
    code: int | None
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            try:
                code = function()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except DataError as error:
                print(f"DataError: {error}")
                code = 1
            except Exception:
                print(traceback.format_exc())
                code = None
    finally:
        root.removeHandler(handler)
    return code, buffer.getvalue()


def folder_digest(folder: Path, suffixes: tuple[str, ...]) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(folder.rglob("*"))
        if path.suffix in suffixes
    }


# ----------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    file: str  # the input file corrupted, inside the work folder
    records: Callable[[], Any]  # the valid content of that file: a list of JSONL records or one JSON document
    run: Callable[[Path, bool], Run]  # (work folder, --on_error skip?) -> Run
    required: tuple[FieldPath, ...]  # fields each record needs, as paths inside a record
    numeric: tuple[FieldPath, ...] = ()
    text: tuple[FieldPath, ...] = ()  # string fields, for bad_encoding
    jsonl: bool = True
    record_list: FieldPath | None = ()  # where a JSON document's records are; None: the document is one record
    setup: Callable[[Path], None] = lambda work: None  # the other (valid) input files
    skip_modes: tuple[bool, ...] = (False,)
    exclude: tuple[str, ...] = ()  # corruptions that do not apply
    baseline: dict[bool, Run] = field(default_factory=dict)


EVALUATE = load_script("evaluate.py")
BENCH = FIXTURES / "evaluation" / "bench_small.json"
MCQ = FIXTURES / "evaluation" / "mcq_small.jsonl"
RELEASE = FIXTURES / "evaluation" / "crosstrace_release"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _bench() -> dict:
    return json.loads(BENCH.read_text(encoding="utf-8"))


def _dacr_predictions() -> list[dict]:
    return [
        {
            "challengeId": c["challengeId"],
            "answers": {
                q["questionId"]: {"answer": q["goldAnswer"], "citation": "", "confidence": 0.8} for q in c["questions"]
            },
        }
        for c in _bench()["challenges"]
    ]


def _score(task: str, data: str, predictions: str, *flags: str) -> Callable[[Path, bool], Run]:
    """`evaluate.py score` with the input files found in the work folder (or fixtures)."""

    def run(work: Path, skip: bool) -> Run:
        out = work / "run"
        given = [str(work / data) if (work / data).exists() else data, str(work / predictions)]
        argv = ["score", "--task", task, "--benchmark", given[0], "--predictions", given[1]]
        code, text = call(
            lambda: EVALUATE.main([*argv, "--output_dir", str(out), "--plots", "false", "--bootstrap", "0", *flags])
        )
        if code != 0 or not (out / "results.json").is_file():
            return Run(code, text)
        body = json.loads((out / "results.json").read_text(encoding="utf-8"))["tasks"][task]
        skipped = body["skipped"]
        counted = sum(v.get("count", 0) for v in skipped.values() if isinstance(v, dict))
        return Run(
            code,
            text,
            result=(body["metrics"], body["n"], body["undefined_metrics"]),
            reported="unusable prediction record(s)" in text,
            problems_in_files=bool(body["problems"]["count"] or counted),
        )

    return run


def _dacr_outputs() -> list[dict]:
    return [{"id": r["challengeId"], "output": "Answers:\n" + json.dumps(r["answers"])} for r in _dacr_predictions()]


def _published_outputs() -> list[dict]:
    from crosstrace.evaluation.tasks.crosstrace import CrossTraceTask

    task = CrossTraceTask(str(RELEASE), ["all", "hypogen"])
    # Outputs without sections: nothing to embed, so no embedding model is loaded.
    return [{"id": published, "output": "an answer without sections"} for published in task.id_aliases()]


def _prompt_outputs() -> list[dict]:
    return [{"id": f"all/test_ours:{n}", "output": f"answer {n}"} for n in (1, 2, 3)] + [
        {"id": "hypogen/test_hypogen:1", "output": "answer h"}
    ]


def _copy_release(work: Path) -> None:
    shutil.copytree(RELEASE, work / "release")


def _compare(work: Path, skip: bool) -> Run:
    code, text = call(lambda: EVALUATE.main(["compare", str(work / "a"), str(work / "b")]))
    return Run(code, text, result=text if code == 0 else None)


def _two_runs(work: Path) -> None:
    for name in ("a", "b"):
        shutil.copytree(FIXTURES / "publish" / "dacr_results" / "fixture-qwen25-7b-baseline", work / name)
        (work / name / "samples.jsonl").unlink()  # its rows have no ids: compare's unpaired tables, from results.json


def _results_json() -> dict:
    path = FIXTURES / "publish" / "dacr_results" / "fixture-qwen25-7b-baseline" / "results.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _build_crosstrace(work: Path, skip: bool) -> Run:
    from crosstrace.builders.__main__ import main

    out = work / "out"
    flags = ["--on_error", "skip"] if skip else []
    code, text = call(lambda: main(["crosstrace", "--source", str(work / "raw"), "--out", str(out), *flags]))
    if code != 0:
        return Run(code, text)
    manifest = json.loads((out / "manifest.json").read_text())
    skipped = int(re.search(r"skipped (\d+)", text).group(1))
    return Run(
        code,
        text,
        folder_digest(out, (".parquet",)),
        reported=skipped > 0,
        problems_in_files=bool(manifest["skipped"]),
    )


def _copy_raw(work: Path) -> None:
    shutil.copytree(FIXTURES / "crosstrace" / "raw", work / "raw")
    (work / "raw" / "all_traces.jsonl").unlink()


def _upload_results(work: Path, skip: bool) -> Run:
    upload = load_script("upload.py")
    flags = ["--on_error", "skip"] if skip else []
    argv = ["results", "--hub_org", "fuzz", "--results_dir", str(work / "results"), "--stage_dir", str(work / "stage")]
    code, text = call(lambda: upload.cli([*argv, *flags]))
    if code != 0:
        return Run(code, text)
    skipped = int(re.search(r"(\d+) bad sample line\(s\) skipped", text).group(1))
    return Run(code, text, _published_samples(work / "stage"), reported=skipped > 0, problems_in_files=skipped > 0)


def _published_samples(stage: Path) -> list[dict]:
    """The samples the results dataset publishes, without the fields a harmless corruption added (the
    dataset publishes each sample as it is, so those are carried along, as they should be)."""
    import pyarrow.parquet as pq

    (details,) = stage.rglob("details/*.parquet")
    samples = [json.loads(row["sample"]) for row in pq.read_table(details).to_pylist()]
    return [{k: v for k, v in sample.items() if not k.startswith("zzz_")} for sample in samples]


def _copy_results(work: Path) -> None:
    shutil.copytree(FIXTURES / "publish" / "dacr_results", work / "results")
    (work / "results" / "fixture-smollm2-demo" / "samples.jsonl").unlink()


def _reader(read: Callable[[Path, ErrorPolicy], Any], file: str) -> Callable[[Path, bool], Run]:
    """A reader without a command of its own: a DataError is exit 1, skipped records must be counted."""

    def run(work: Path, skip: bool) -> Run:
        policy = ErrorPolicy("skip" if skip else "raise")
        holder = {}

        def read_it() -> int:
            holder["result"] = read(work / file, policy)
            return 0

        code, text = call(read_it)
        if code != 0:
            return Run(code, text)
        # Counted: skipped records are in the policy; repeated training rows are kept, with a warning.
        reported = bool(policy.skipped) or "repeat" in text
        return Run(0, text, holder["result"], reported=reported, problems_in_files=bool(policy.skipped))

    return run


def _valid_lines(path: Path, read: Callable[[Path, ErrorPolicy], Any]) -> list[dict]:
    """The records of a fixture that also holds bad lines on purpose, without those."""
    policy = ErrorPolicy("skip")
    read(path, policy)
    bad = {item.line for item in policy.skipped}
    lines = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for n, line in enumerate(lines, start=1) if line.strip() and n not in bad]


def _generations(path: Path, policy: ErrorPolicy) -> Any:
    from crosstrace.evaluation.runner import read_generations

    return {prompt_id: record["output"] for prompt_id, record in read_generations(path).items()}


def _mixture(path: Path, policy: ErrorPolicy) -> Any:
    from crosstrace.training.mixture import MixtureSource, build_mixture

    mixture = build_mixture([MixtureSource("chat", "json", data_files=str(path))], seed=0, policy=policy)
    return [dict(row) for row in mixture.dataset]


def _wildsci(path: Path, policy: ErrorPolicy) -> Any:
    from crosstrace.sources.wildsci import read_wildsci

    return read_wildsci(path, policy)


def _tuning(path: Path, policy: ErrorPolicy) -> Any:
    from crosstrace.sources.dacr_tuning import read_tuning_data

    return read_tuning_data(path, policy).rows


def _hypogen(path: Path, policy: ErrorPolicy) -> Any:
    from crosstrace.sources.hypogen import read_rows

    return [item.record for item in read_rows(path, policy)]


ANSWER = ("answers", "q01", "answer")
CONFIDENCE = ("answers", "q01", "confidence")
TARGETS = [
    Target(
        "score dacr: predictions (upstream list)",
        "preds.json",
        _dacr_predictions,
        _score("dacr", str(BENCH), "preds.json"),
        required=(("challengeId",), ("answers",), ANSWER),
        numeric=(CONFIDENCE,),
        text=(ANSWER,),
        jsonl=False,
    ),
    Target(
        "score dacr: predictions (JSON Lines)",
        "preds.jsonl",
        _dacr_predictions,
        _score("dacr", str(BENCH), "preds.jsonl", "--scoring", "reference"),
        required=(("challengeId",), ("answers",), ANSWER),
        numeric=(CONFIDENCE,),
        text=(ANSWER,),
    ),
    Target(
        "score dacr: raw outputs",
        "outputs.jsonl",
        _dacr_outputs,
        _score("dacr", str(BENCH), "outputs.jsonl"),
        required=(("id",), ("output",)),
        text=(("id",),),
    ),
    Target(
        "score dacr: the benchmark",
        "bench.json",
        _bench,
        _score("dacr", "bench.json", "preds.json"),
        required=(
            ("challengeId",),
            ("document", "text"),
            ("questions",),
            ("questions", 0, "questionId"),
            ("questions", 0, "goldAnswer"),
            ("traps", 0, "correctValue"),
        ),
        numeric=(("questions", 0, "hops"), ("traps", 0, "trapLocation", "paragraphIndex")),
        text=(("questions", 0, "goldAnswer"),),
        jsonl=False,
        record_list=("challenges",),
        setup=lambda work: (work / "preds.json").write_text(json.dumps(_dacr_predictions())),
    ),
    Target(
        "score mcq: the questions",
        "mcq.jsonl",
        lambda: _jsonl(MCQ),
        _score("mcq", "mcq.jsonl", "outputs.jsonl"),
        required=(("id",), ("question",), ("options",), ("options", "B"), ("answer",)),
        text=(("answer",), ("options", "B")),
        setup=lambda work: (work / "outputs.jsonl").write_text(
            "".join(json.dumps({"id": r["id"], "output": f"Answer: {r['answer']}"}) + "\n" for r in _jsonl(MCQ))
        ),
    ),
    Target(
        "score mcq: raw outputs",
        "outputs.jsonl",
        lambda: [{"id": r["id"], "output": f"Answer: {r['answer']}"} for r in _jsonl(MCQ)],
        _score("mcq", str(MCQ), "outputs.jsonl"),
        required=(("id",), ("output",)),
        text=(("output",),),
    ),
    Target(
        "score crosstrace: the release test file",
        "release/test_ours.jsonl",
        lambda: _jsonl(RELEASE / "test_ours.jsonl"),
        _score("crosstrace", "release", "outputs.jsonl"),
        required=(("messages",), ("messages", 1, "content"), ("messages", 2, "content"), ("metadata", "domain")),
        numeric=(("metadata", "extraction_confidence"),),
        text=(("messages", 1, "content"),),
        setup=lambda work: (
            _copy_release(work),
            (work / "outputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _published_outputs())),
        ),
    ),
    Target(
        "score crosstrace: raw outputs",
        "outputs.jsonl",
        _prompt_outputs,
        _score("crosstrace", str(RELEASE), "outputs.jsonl"),
        required=(("id",), ("output",)),
        text=(("id",),),
    ),
    Target(
        "compare: a run's results.json",
        "a/results.json",
        _results_json,
        _compare,
        required=(("tasks",), ("run_id",), ("tasks", "dacr", "metrics"), ("tasks", "dacr", "metrics", "accuracy")),
        numeric=(("tasks", "dacr", "metrics", "accuracy"), ("tasks", "dacr", "n", "accuracy")),
        text=(("model", "name_or_path"),),  # not shown in the table: a run id or label is shown as it is
        jsonl=False,
        record_list=None,
        setup=_two_runs,
        exclude=("duplicate",),
    ),
    Target(
        "build crosstrace: raw traces",
        "raw/all_traces.jsonl",
        lambda: _jsonl(FIXTURES / "crosstrace" / "raw" / "all_traces.jsonl"),
        _build_crosstrace,
        required=(("input", "field_context"), ("trace",), ("output", "hypothesis"), ("metadata", "domain")),
        numeric=(("metadata", "extraction_confidence"),),
        text=(("output", "hypothesis"),),
        setup=_copy_raw,
        skip_modes=(False, True),
    ),
    Target(
        "upload results: a run's samples.jsonl",
        "results/fixture-smollm2-demo/samples.jsonl",
        lambda: _jsonl(FIXTURES / "publish" / "dacr_results" / "fixture-smollm2-demo" / "samples.jsonl"),
        _upload_results,
        required=(("task",),),  # wrong types only: a one-task run's lines may leave it out
        exclude=("missing_field",),
        numeric=(("confidence",),),
        text=(("task",),),
        setup=_copy_results,
        skip_modes=(False, True),
    ),
    Target(
        "resume: a generations file",
        "generations.jsonl",
        lambda: [{"id": f"p{n}", "output": f"text {n}", "prompt_sha256": "ab"} for n in range(3)],
        _reader(_generations, "generations.jsonl"),
        required=(("id",), ("output",)),
        text=(("output",),),
        # The runner writes a model's lone surrogates (escaped) itself: they must read back as written.
        exclude=("lone_surrogate",),
    ),
    Target(
        "train: a data file of the mixture",
        "chat.jsonl",
        lambda: _jsonl(FIXTURES / "train" / "crosstrace_chat.jsonl"),
        _reader(_mixture, "chat.jsonl"),
        required=(("messages",), ("messages", 2, "content")),
        text=(("messages", 2, "content"),),
        skip_modes=(False, True),
    ),
    Target(
        "source: WildSci questions",
        "wildsci.jsonl",
        lambda: _jsonl(FIXTURES / "mcq" / "wildsci_sample.jsonl"),
        _reader(_wildsci, "wildsci.jsonl"),
        required=(("question",), ("options",), ("answer",)),
        text=(("answer",),),
        skip_modes=(False, True),
    ),
    Target(
        "source: DACR tuning rows",
        "train.jsonl",
        lambda: _valid_lines(FIXTURES / "dacr" / "tuning" / "train.jsonl", _tuning),
        _reader(_tuning, "train.jsonl"),
        required=(("prompt",), ("response",)),
        numeric=(("reward",),),
        text=(("response",),),
        skip_modes=(False, True),
    ),
    Target(
        "source: HypoGen rows",
        "rows.jsonl",
        lambda: _jsonl(FIXTURES / "crosstrace" / "hypogen" / "rows.jsonl"),
        _reader(_hypogen, "rows.jsonl"),
        required=(("bit",), ("flip",), ("spark",), ("chain_of_reasoning",)),
        text=(("spark",),),
        skip_modes=(False, True),
    ),
]


# ----------------------------------------------------------------------------- corruptions


def _get(record: Any, path: FieldPath) -> Any:
    for key in path:
        record = record[key]
    return record


def _set(record: Any, path: FieldPath, value: Any) -> None:
    _get(record, path[:-1])[path[-1]] = value


def _present(record: Any, path: FieldPath) -> bool:
    try:
        _get(record, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _serialize(target: Target, content: Any) -> bytes:
    if target.jsonl:
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in content).encode("utf-8")
    return (json.dumps(content, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _records(target: Target, content: Any) -> list:
    if target.jsonl:
        return content
    if target.record_list is None:
        return [content]
    return _get(content, target.record_list)


def _wrong_type(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [value]
    return "not the right type" if isinstance(value, (list, dict)) else {"value": value}


PLACEHOLDER = "@@fuzz@@"


def corrupt(target: Target, kind: str, data: st.DataObject) -> bytes:
    """The target's file with one corruption of `kind`, at a place `data` draws."""
    content = copy.deepcopy(target.records())
    records = _records(target, content)
    index = data.draw(st.integers(0, len(records) - 1), label="record")
    record = records[index]
    literal = None

    def field_of(paths: tuple[FieldPath, ...]) -> FieldPath:
        """A field of one of `paths` that some record has; that record becomes the one corrupted."""
        nonlocal record
        where = data.draw(st.sampled_from([(i, p) for i, r in enumerate(records) for p in paths if _present(r, p)]))
        record = records[where[0]]
        return where[1]

    if kind in ("bom", "crlf", "truncate"):
        raw = _serialize(target, content)
        if kind == "bom":
            return codecs.BOM_UTF8 + raw
        if kind == "crlf":
            return raw.replace(b"\n", b"\r\n")
        # Cut inside a record (a cut between two lines leaves a shorter valid file: no reader can tell).
        lines = raw.split(b"\n")
        starts = [sum(len(line) + 1 for line in lines[:n]) for n in range(len(lines))]
        if target.jsonl:
            line = data.draw(st.integers(0, len(records) - 1), label="line")
            return raw[: starts[line] + data.draw(st.integers(1, len(lines[line]) - 1), label="cut")]
        return raw[: data.draw(st.integers(1, len(raw.rstrip()) - 1), label="cut")]
    if kind == "duplicate":
        records.insert(index + 1, copy.deepcopy(record))
    elif kind == "extra_field":
        record["zzz_extra"] = "a field no reader knows"
    elif kind == "huge_line":
        record["zzz_padding"] = "x" * (1 << 20)
    elif kind == "unicode_separators":
        record["zzz_note"] = "a\u2028b\u2029c\x85d"
    elif kind == "missing_field":
        path = field_of(target.required)
        del _get(record, path[:-1])[path[-1]]
    elif kind == "wrong_type":
        path = field_of(target.required)
        _set(record, path, _wrong_type(_get(record, path)))
    else:  # literals json.dumps cannot write: put a placeholder, then replace it in the bytes
        if kind == "nesting":
            path = field_of(target.required)
            depth = data.draw(st.sampled_from([150, 5_000]), label="depth")
            literal = b"[" * depth + b"]" * depth
        elif kind == "huge_number":
            path = field_of(target.numeric or target.required)
            literal = b"7" * data.draw(st.sampled_from([400, 5_000]), label="digits")
        elif kind == "nan":
            path = field_of(target.numeric)
            literal = data.draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]), label="constant")
        elif kind == "bad_encoding":
            path = field_of(target.text)
            literal = b'"bad \xff\xfe bytes"'
        elif kind == "lone_surrogate":  # valid JSON, but no UTF-8 can hold the text it decodes to
            path = field_of(target.text)
            literal = b'"half of a pair: \\ud800"'
        _set(record, path, PLACEHOLDER)
    raw = _serialize(target, content)
    return raw if literal is None else raw.replace(f'"{PLACEHOLDER}"'.encode(), literal, 1)


def applicable(target: Target, kind: str) -> bool:
    if kind in target.exclude:
        return False
    if kind == "nan":
        return bool(target.numeric)
    return True


# ----------------------------------------------------------------------------- classification


def classify(target: Target, run: Run, baseline: Run) -> str:
    if run.code is None:
        return "traceback"
    if run.code != 0:
        return "clear" if Path(target.file).name in run.text else "unclear"
    if run.result == baseline.result:
        return "correct"
    if run.reported:
        return "skipped"
    return "exit0_with_problem" if run.problems_in_files else "silent"


def _work(tmp_path: Path, target: Target) -> Path:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    target.setup(work)
    (work / target.file).parent.mkdir(parents=True, exist_ok=True)
    return work


def baseline(target: Target, skip: bool, tmp_path: Path) -> Run:
    if skip not in target.baseline:
        work = _work(tmp_path, target)
        (work / target.file).write_bytes(_serialize(target, target.records()))
        run = target.run(work, skip)
        assert run.code == 0 and not run.problems_in_files, f"{target.name}: the valid input fails\n{run.text[-2000:]}"
        target.baseline[skip] = run
    return target.baseline[skip]


BY_NAME = {target.name: target for target in TARGETS}
CASES = [
    pytest.param(target.name, kind, skip, id=f"{target.name} | {kind}{' | skip' if skip else ''}")
    for target in TARGETS
    for kind in HARMFUL + HARMLESS
    if applicable(target, kind)
    for skip in target.skip_modes
]


@pytest.mark.parametrize(("target", "kind", "skip"), CASES)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_corrupted_input_is_a_clear_error_counted_or_harmless(tmp_path, target, kind, skip, data):
    target = BY_NAME[target]  # parametrized by name: hypothesis prints the arguments of a failing case
    expected = baseline(target, skip, tmp_path)
    work = _work(tmp_path, target)
    (work / target.file).write_bytes(corrupt(target, kind, data))
    run = target.run(work, skip)
    outcome = classify(target, run, expected)
    TALLY[(target.name, outcome)] += 1
    allowed = {"correct"} if kind in HARMLESS else ALLOWED
    assert outcome in allowed, f"{target.name}, {kind}: {outcome}\n{run.text[-3000:]}"


def test_model_outputs_never_break_the_dacr_answer_reader():
    """The raw-output parser reads anything a model writes: deep brackets, huge numbers, NaN, broken JSON."""
    from crosstrace.scoring.dacr_parse import extract_answers

    pieces = st.sampled_from(
        ['{"q01": ', '{"answer": ', "[" * 3_000, "]" * 10, "7" * 5_000, "NaN", '"x"', "}", ",", "\u2028", "'q02': {"]
    )

    @settings(max_examples=60, derandomize=True, deadline=None, database=None)
    @given(st.lists(pieces | st.text(max_size=20), max_size=12))
    def parse(parts):
        answers, problem = extract_answers("".join(parts), question_ids=["q01", "q02"])
        assert isinstance(answers, dict) and (problem is None or isinstance(problem, str))

    parse()


@pytest.fixture(scope="module", autouse=True)
def _print_tally():
    yield
    if not TALLY:
        return
    width = max(len(name) for name, _ in TALLY)
    lines = [f"{'target':<{width}}  " + "  ".join(f"{c:>9}" for c in CLASSES)]
    for name in dict.fromkeys(name for name, _ in TALLY):
        lines.append(f"{name:<{width}}  " + "  ".join(f"{TALLY[(name, c)]:>9}" for c in CLASSES))
    totals = Counter()
    for (_, outcome), count in TALLY.items():
        totals[outcome] += count
    lines.append(f"{'all':<{width}}  " + "  ".join(f"{totals[c]:>9}" for c in CLASSES))
    print("\n\nfuzzed inputs by outcome (tests/test_fuzz_inputs.py)\n" + "\n".join(lines))
