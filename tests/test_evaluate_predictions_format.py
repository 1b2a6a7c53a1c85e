"""`evaluate.py score --predictions_format`: auto says what it detected; a stated format is checked
against every record, and a mismatch is an error naming the file (and line) before anything is scored."""

from __future__ import annotations

import json
import logging
import typing
from pathlib import Path

import pytest

from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import TASK_NAMES, ScoreArguments
from crosstrace.evaluation.predictions_format import (
    AUTO,
    DACR_MAPPING,
    DACR_UPSTREAM,
    OUTPUTS,
    PREDICTIONS_FORMATS,
    resolve_predictions_format,
)
from crosstrace.evaluation.tasks import TASKS, DacrTask

BENCH = Path(__file__).resolve().parent / "fixtures" / "evaluation" / "bench_small.json"
DACR_FORMATS = DacrTask.predictions_formats


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _lines(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


UPSTREAM_RECORD = {"challengeId": "c1", "answers": {"q01": {"answer": "4"}}}
MAPPING_RECORD = {"c2": {"q01": {"answer": "4"}}}
OUTPUT_RECORD = {"id": "c1", "output": '{"q01": {"answer": "4"}}'}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("list.json", json.dumps([UPSTREAM_RECORD]), DACR_UPSTREAM),
        ("mapping.json", json.dumps(MAPPING_RECORD, indent=2), DACR_MAPPING),
        ("records.jsonl", _lines(UPSTREAM_RECORD, UPSTREAM_RECORD | {"challengeId": "c2"}), DACR_UPSTREAM),
        ("mapping.jsonl", _lines(MAPPING_RECORD, {"c3": {}}), DACR_MAPPING),
        ("generations.jsonl", "\n" + _lines(OUTPUT_RECORD, OUTPUT_RECORD | {"id": "c2"}), OUTPUTS),
        ("one-output.jsonl", _lines(OUTPUT_RECORD), OUTPUTS),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else "",
)
def test_auto_detects_each_format_and_a_stated_one_is_accepted(tmp_path, name, text, expected):
    path = _write(tmp_path / name, text)
    assert resolve_predictions_format(path, AUTO, "dacr", DACR_FORMATS) == (expected, "detected from the first record")
    assert resolve_predictions_format(path, expected, "dacr", DACR_FORMATS)[0] == expected


def test_a_stated_format_that_is_not_the_files_names_file_and_line(tmp_path):
    upstream_list = _write(tmp_path / "preds.json", json.dumps([UPSTREAM_RECORD]))
    with pytest.raises(DataError, match=r"preds\.json.*--predictions_format outputs.*this record is dacr-upstream"):
        resolve_predictions_format(upstream_list, OUTPUTS, "dacr", DACR_FORMATS)
    # auto trusts the first record; a stated format checks them all: the third line is another format.
    mixed = _write(tmp_path / "mixed.jsonl", _lines(UPSTREAM_RECORD, UPSTREAM_RECORD, MAPPING_RECORD))
    assert resolve_predictions_format(mixed, AUTO, "dacr", DACR_FORMATS)[0] == DACR_UPSTREAM
    with pytest.raises(DataError, match=r"mixed\.jsonl:3: .*this record is dacr-mapping") as error:
        resolve_predictions_format(mixed, DACR_UPSTREAM, "dacr", DACR_FORMATS)
    assert error.value.line == 3


def test_a_format_the_task_does_not_read_is_refused_and_auto_keeps_single_format_tasks(tmp_path):
    upstream_list = _write(tmp_path / "preds.json", json.dumps([UPSTREAM_RECORD]))
    with pytest.raises(DataError, match="task crosstrace reads outputs, not dacr-upstream"):
        resolve_predictions_format(upstream_list, DACR_UPSTREAM, "crosstrace", TASKS["crosstrace"].predictions_formats)
    # As before the flag: a task with one format reads the file as that format (its reader counts bad lines).
    assert resolve_predictions_format(upstream_list, AUTO, "mcq", TASKS["mcq"].predictions_formats) == (
        OUTPUTS,
        "the only format task mcq reads",
    )
    empty = _write(tmp_path / "empty.json", "")
    assert resolve_predictions_format(empty, AUTO, "dacr", DACR_FORMATS)[0] == DACR_FORMATS[0]


def test_the_flags_choices_and_task_names_are_the_modules_own():
    hints = typing.get_type_hints(ScoreArguments)
    assert typing.get_args(hints["predictions_format"]) == (AUTO, *PREDICTIONS_FORMATS)
    assert tuple(TASKS) == TASK_NAMES


def _score(evaluate_script, predictions: Path, out: Path, *flags: str) -> int:
    argv = ["score", "--task", "dacr", "--benchmark", str(BENCH), "--predictions", str(predictions)]
    return evaluate_script.main([*argv, *flags, "--bootstrap", "20", "--no_plots", "--output_dir", str(out)])


def test_score_says_which_format_it_read_and_records_it(evaluate_script, tmp_path, caplog):
    challenges = json.loads(BENCH.read_text())["challenges"]
    gold = [
        {
            "challengeId": c["challengeId"],
            "answers": {q["questionId"]: {"answer": q["goldAnswer"]} for q in c["questions"]},
        }
        for c in challenges
    ]
    predictions = _write(tmp_path / "gold.json", json.dumps(gold))
    caplog.set_level(logging.INFO)
    assert _score(evaluate_script, predictions, tmp_path / "auto") == 0
    assert "read as predictions format dacr-upstream (detected from the first record)" in caplog.text
    body = json.loads((tmp_path / "auto" / "results.json").read_text())["tasks"]["dacr"]
    assert body["data"]["predictions"]["format"] == DACR_UPSTREAM and body["metrics"]["accuracy"] == 1.0

    caplog.clear()
    assert _score(evaluate_script, predictions, tmp_path / "stated", "--predictions_format", "outputs") == 1
    assert "gold.json" in caplog.text and "this record is dacr-upstream" in caplog.text
    assert not (tmp_path / "stated").exists()  # refused before anything was scored or written
