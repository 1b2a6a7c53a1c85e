"""Prediction files (upstream and own formats, bad entries reported per entry) and raw-output parsing."""

from __future__ import annotations

import json

import pytest

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.scoring.dacr import score_dacr
from crosstrace.scoring.dacr_parse import extract_answers
from crosstrace.scoring.predictions import coerce_entry, load_predictions, to_upstream


@pytest.fixture
def scoring_dir(fixtures_dir):
    return fixtures_dir / "scoring"


def reasons(problems):
    return [f"{p['field']}: {p['reason']}" for p in problems]


def test_upstream_list(scoring_dir):
    predictions, problems = load_predictions(scoring_dir / "predictions_upstream.json")
    assert problems == []
    assert predictions["fixture-alloy"]["q01"] == {
        "answer": "Corvane Metals",
        "citation": "Methods",
        "confidence": 0.9,
    }
    assert predictions["fixture-seeds"]["q04"]["confidence"] == 1.0


def test_own_format_round_trips_through_upstream(scoring_dir, tmp_path):
    predictions, problems = load_predictions(scoring_dir / "predictions_own.json")
    assert problems == [] and set(predictions) == {"fixture-alloy", "fixture-flux"}
    path = tmp_path / "upstream.json"
    path.write_text(json.dumps(to_upstream(predictions, model="m")))
    assert load_predictions(path) == (predictions, [])


def test_missing_ids_and_duplicates(scoring_dir):
    predictions, problems = load_predictions(scoring_dir / "bad_missing_ids.json")
    assert list(predictions) == ["fixture-alloy"]
    assert predictions["fixture-alloy"]["q01"]["answer"] == "Corvane Metals"  # the first record is kept
    text = reasons(problems)
    assert len(problems) == 4
    assert any("[0].challengeId" in t and "missing or invalid challenge id" in t for t in text)
    assert any("[1].challengeId" in t for t in text)
    assert any("duplicate challenge id" in t for t in text)
    assert any("no 'answers' field" in t for t in text)
    assert all(p["path"].endswith("bad_missing_ids.json") for p in problems)


def test_not_json(scoring_dir):
    predictions, problems = load_predictions(scoring_dir / "bad_truncated.json")
    assert predictions == {}
    assert len(problems) == 1 and "not valid JSON" in problems[0]["reason"] and problems[0]["line"] == 2


def test_wrong_types_are_reported_per_entry(scoring_dir):
    predictions, problems = load_predictions(scoring_dir / "bad_types.json")
    alloy = predictions["fixture-alloy"]
    assert alloy["q01"] == {"answer": "", "citation": "", "confidence": None}
    assert alloy["q02"] == {"answer": "1450", "citation": "", "confidence": None}  # a number answer is its text
    assert alloy["q03"]["answer"] == "470"  # a bare string is the answer
    assert "q04" not in alloy  # null entry: no answer
    assert alloy["q05"]["confidence"] == 1.0  # clamped, reported
    assert predictions["fixture-seeds"] == {}
    fields = {p["field"] for p in problems}
    assert {
        "fixture-alloy.q01.answer",
        "fixture-alloy.q01.citation",
        "fixture-alloy.q01.confidence",
        "fixture-alloy.q02.confidence",
        "fixture-alloy.q04",
        "fixture-alloy.q05.confidence",
        "fixture-seeds",
    } <= fields
    assert next(p for p in problems if p["field"] == "fixture-alloy.q05.confidence")["question_id"] == "q05"


def test_nan_and_percent_confidences(scoring_dir):
    predictions, problems = load_predictions(scoring_dir / "bad_nan.json")
    alloy = predictions["fixture-alloy"]
    assert alloy["q01"]["confidence"] is None and alloy["q02"]["confidence"] is None
    assert alloy["q03"]["confidence"] == pytest.approx(0.95)
    assert len(problems) == 2 and all("finite" in p["reason"] for p in problems)


def test_jsonl_keeps_good_lines(scoring_dir):
    predictions, problems = load_predictions(scoring_dir / "predictions.jsonl")
    assert set(predictions) == {"fixture-alloy", "fixture-flux"}
    assert [p["line"] for p in problems] == [2, 3]


def test_scoring_a_bad_file_still_runs(scoring_dir, fixtures_dir):
    bench = json.loads((fixtures_dir / "scoring" / "bench.json").read_text())["challenges"]
    predictions, problems = load_predictions(scoring_dir / "bad_types.json")
    score = score_dacr(bench, predictions)
    assert score.n["answered"] == 4 and problems


def test_raise_policy_and_missing_file(scoring_dir, tmp_path):
    with pytest.raises(DataError, match=r"bad_types\.json"):
        load_predictions(scoring_dir / "bad_types.json", policy=ErrorPolicy("raise"))
    with pytest.raises(DataError, match="not found"):
        load_predictions(tmp_path / "absent.json")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("  \n")
    predictions, problems = load_predictions(path)
    assert predictions == {} and [p["reason"] for p in problems] == ["the file is empty"]


@pytest.mark.parametrize(
    ("value", "entry", "n_problems"),
    [
        ({"answer": "x", "citation": "c", "confidence": 0.5}, {"answer": "x", "citation": "c", "confidence": 0.5}, 0),
        (
            {"Answer": "x", "Confidence": "0.3", "source": "p2"},
            {"answer": "x", "citation": "p2", "confidence": 0.3},
            0,
        ),
        ({"answer": "x", "confidence": -0.2}, {"answer": "x", "citation": "", "confidence": 0.0}, 1),
        ({"answer": "x", "confidence": "sure"}, {"answer": "x", "citation": "", "confidence": None}, 1),
        ("bare", {"answer": "bare", "citation": "", "confidence": None}, 0),
        (2.5, {"answer": "2.5", "citation": "", "confidence": None}, 0),
        ([1], {"answer": "", "citation": "", "confidence": None}, 1),
    ],
)
def test_coerce_entry(value, entry, n_problems):
    got, problems = coerce_entry(value)
    assert got == entry and len(problems) == n_problems
    assert coerce_entry(got) == (got, [])  # idempotent


@pytest.mark.parametrize(
    ("raw", "answers", "problem"),
    [
        ('{"q01": {"answer": "12", "citation": "p3", "confidence": 0.9}}', {"q01": ("12", 0.9)}, None),
        (
            'Here you go:\n```json\n{"q01": {"answer": "12", "confidence": 0.9},}\n```',
            {"q01": ("12", 0.9)},
            "repaired",
        ),
        (
            '<think>draft {q01: 5}</think>\n{"1": {"Answer": 12}, "Q2": "Meso valve"}',
            {"q01": ("12", None), "q02": ("Meso valve", None)},
            None,
        ),
        (
            '{"q01": {"answer": "12", "confidence": 0.9}, "q02": {"answer": "Meso',
            {"q01": ("12", 0.9)},
            "entry by entry",
        ),
        ("{'q01': {'answer': 'x', 'confidence': None}}", {"q01": ("x", None)}, "repaired"),
        ("q01: 12\nq02: Meso valve", {"q01": ("12", None), "q02": ("Meso valve", None)}, "lines"),
        ('{"answers": {"q01": {"answer": "1"}}}', {"q01": ("1", None)}, "wrapped"),
        ('{"q01": {"answer": "1", "confidence": NaN}}', {"q01": ("1", None)}, "finite"),
        ("I cannot answer this.", {}, "no JSON object"),
        ("", {}, "empty"),
        ('The set {a, b} is small. {"q01": {"answer": "7"}}', {"q01": ("7", None)}, None),
    ],
)
def test_extract_answers(raw, answers, problem):
    got, got_problem = extract_answers(raw)
    assert {qid: (e["answer"], e["confidence"]) for qid, e in got.items()} == answers
    if problem is None:
        assert got_problem is None
    else:
        assert problem in got_problem


def test_extract_answers_maps_keys_onto_question_ids():
    got, _ = extract_answers(
        '{"1": {"answer": "a"}, "question_2": {"answer": "b"}, "zz": {"answer": "c"}}', question_ids=["q1", "q2"]
    )
    assert {k: v["answer"] for k, v in got.items()} == {"q1": "a", "q2": "b"}
