"""JSON and JSON Lines reading: one reader, errors naming file and line, lines split on "\\n" only."""

from __future__ import annotations

import codecs
import json

import pytest

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.evaluation.runner import read_generations
from crosstrace.jsonio import iter_jsonl, read_json, read_json_object
from crosstrace.scoring.predictions import load_predictions

# Characters str.splitlines() treats as line ends; json.dumps(..., ensure_ascii=False) leaves them raw.
UNICODE_BREAKS = "a\u2028b\u2029c\x85d"


def test_read_json_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(codecs.BOM_UTF8 + b'{"a": 1}')
    assert read_json(path) == {"a": 1}


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [(b'{\n  "a": 1,\n}', 3, "not valid JSON"), (b"\xff\xfe", None, "not valid UTF-8"), (b"[1]", None, "object")],
)
def test_read_json_errors_name_the_file_and_line(tmp_path, content, line, reason):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_json_object(path)
    assert caught.value.path == str(path) and caught.value.line == line and reason in caught.value.reason


def test_read_json_of_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_json(tmp_path / "absent.json")


def test_iter_jsonl_splits_on_newline_only_and_accepts_a_bom(tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = [{"text": UNICODE_BREAKS}, {"text": "second"}]
    body = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n\n"
    path.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    assert list(iter_jsonl(path)) == [(1, rows[0]), (2, rows[1])]


def test_iter_jsonl_bad_lines_go_to_the_policy_with_their_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": \n[1]\n{"a": 2}\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(iter_jsonl(path))
    assert (caught.value.path, caught.value.line) == (str(path), 2)
    policy = ErrorPolicy("skip")
    assert [line for line, _ in iter_jsonl(path, policy)] == [1, 4]
    assert [(s.line, s.reason.split(" (")[0]) for s in policy.skipped] == [
        (2, "not valid JSON"),
        (3, "expected a JSON object, got list"),
    ]


def test_resumed_generations_keep_outputs_with_unicode_line_separators(tmp_path):
    path = tmp_path / "generations.jsonl"
    record = {"id": "p1", "output": UNICODE_BREAKS}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read_generations(path) == {"p1": record}


def test_prediction_lines_keep_answers_with_unicode_line_separators(tmp_path):
    path = tmp_path / "predictions.jsonl"
    answers = {"q01": {"answer": UNICODE_BREAKS, "citation": "", "confidence": 0.5}}
    lines = [{"challengeId": "c1", "answers": answers}, {"challengeId": "c2", "answers": answers}]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    predictions, problems = load_predictions(path)
    assert problems == [] and predictions["c2"]["q01"]["answer"] == UNICODE_BREAKS
