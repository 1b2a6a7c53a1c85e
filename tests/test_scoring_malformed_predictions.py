"""Malformed DACR predictions: what each scoring mode decides (README, "Malformed predictions").

The reference mode promises upstream's numbers, so on a predictions file it reads what upstream's
evaluate.ts reads: a missing confidence is 0, a confidence that is not a JSON number is NaN, the
last of two records for a challenge is kept, a trap id defined twice means its first definition,
and an entry of "", 0 or false is no entry. On raw outputs (upstream's runner's job) a missing
confidence is 0.5. Strict mode keeps its own rules. Every oddity is in the problems list.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from crosstrace.evaluation.predictions_format import DACR_UPSTREAM
from crosstrace.evaluation.tasks import DacrTask
from crosstrace.scoring.dacr import score_dacr

BENCH = Path(__file__).resolve().parent / "fixtures" / "evaluation" / "bench_small.json"
CHALLENGES = json.loads(BENCH.read_text(encoding="utf-8"))["challenges"]
FIRST = CHALLENGES[0]  # q02 targets trap t01: correct value 2.7, planted 4.1
GOLD = {q["questionId"]: q["goldAnswer"] for q in FIRST["questions"]}


def _score_file(tmp_path, mode: str, answers: dict, *more_records: dict):
    path = tmp_path / "preds.json"
    records = [{"challengeId": FIRST["challengeId"], "answers": answers}, *more_records]
    path.write_text(json.dumps(records), encoding="utf-8")
    score, _, _ = DacrTask([str(BENCH)], mode=mode, bootstrap=0).score_predictions_file(path, DACR_UPSTREAM)
    return score, " | ".join(p["reason"] for p in score.problems)


def _answers(**confidences) -> dict:
    return {qid: {"answer": gold, "confidence": confidences.get(qid, 0.8)} for qid, gold in GOLD.items()}


def test_a_missing_confidence_is_0_in_reference_mode_on_a_predictions_file_and_reported(tmp_path):
    answers = _answers()
    del answers["q01"]["confidence"]
    answers["q03"]["confidence"] = None
    reference, problems = _score_file(tmp_path, "reference", answers)
    assert reference.metrics["mean_confidence"] == pytest.approx(1.6 / 4)  # evaluate.ts: `confidence ?? 0`
    assert "no confidence for q01, q03; scored as 0" in problems
    _, problems = _score_file(tmp_path, "strict", answers)
    assert "no confidence for q01, q03; scored as 0.5" in problems
    # The same answers parsed from a model's raw output: 0.5, as upstream's runner writes a missing one.
    from_outputs = score_dacr([FIRST], {FIRST["challengeId"]: answers}, mode="reference", answers_from="outputs")
    assert from_outputs.metrics["mean_confidence"] == pytest.approx(2.6 / 4)


def test_a_confidence_that_is_not_a_json_number_is_nan_in_reference_mode(tmp_path):
    answers = _answers(q01="high", q02="0.8", q03=True)
    reference, problems = _score_file(tmp_path, "reference", answers)
    # Upstream's sums become NaN: those metrics are undefined (left out of results.json's numbers).
    assert reference.metrics["mean_confidence"] is None and reference.metrics["confidence_weighted_accuracy"] is None
    # ECE: a NaN falls in no bin but counts in the total, as upstream computes it.
    assert reference.metrics["ece"] == pytest.approx(abs(1 - 0.8) / 4)
    assert problems.count("read as NaN, as upstream's scorer does") == 3
    strict, problems = _score_file(tmp_path, "strict", answers)
    # Strict reads numeric text, and treats the rest as missing (0.5); it also scores the second
    # challenge, which has no prediction, as 4 unanswered questions (confidence 0).
    assert strict.metrics["mean_confidence"] == pytest.approx((0.5 + 0.8 + 0.5 + 0.8) / 8)
    assert "not a number ('high'); treated as missing" in problems and "boolean True" in problems


def test_duplicate_records_keep_the_last_in_reference_mode_and_the_first_in_strict(tmp_path):
    wrong = {qid: {"answer": "nothing like it", "confidence": 0.5} for qid in GOLD}
    duplicate = {"challengeId": FIRST["challengeId"], "answers": _answers()}
    reference, problems = _score_file(tmp_path, "reference", wrong, duplicate)
    assert reference.metrics["accuracy"] == 1.0  # the last record: the gold answers
    assert "the last record is kept, as upstream's scorer does" in problems
    strict, problems = _score_file(tmp_path, "strict", wrong, duplicate)
    assert strict.metrics["accuracy"] == 0.0
    assert "the first record is kept" in problems


def test_a_trap_id_defined_twice_means_its_first_definition_in_both_modes():
    challenge = json.loads(json.dumps(FIRST))
    challenge["traps"].append({**challenge["traps"][0], "correctValue": "9.9", "wrongValue": "2.7"})
    answers = {FIRST["challengeId"]: {"q02": {"answer": "2.7 aW per root hertz", "citation": "", "confidence": 0.9}}}
    for mode in ("reference", "strict"):
        score = score_dacr([challenge], answers, mode=mode, bootstrap=0)
        assert score.metrics["trap_evasion"] == 1.0, mode  # by the second definition it fell for the planted 2.7
        assert any("trap id 't01' is defined twice" in p["reason"] for p in score.problems)


@pytest.mark.parametrize("falsy", ["", 0, False], ids=["empty", "zero", "false"])
def test_an_entry_of_empty_zero_or_false_is_no_entry_in_reference_mode(tmp_path, falsy):
    answers = {**_answers(), "q02": falsy}  # q02 targets the trap
    reference, problems = _score_file(tmp_path, "reference", answers)
    assert reference.metrics["coverage"] == pytest.approx(3 / 4)
    assert reference.metrics["trap_evasion"] == 0.0  # upstream: no entry for a trap question -> fell
    assert f"entry {falsy!r}: no entry, as upstream's scorer reads it" in problems
    strict, problems = _score_file(tmp_path, "strict", answers)
    # Strict: an (empty, or "0") answer is answered, and wrong; the second challenge is unanswered.
    assert strict.metrics["coverage"] == pytest.approx(4 / 8) and strict.metrics["accuracy"] == pytest.approx(3 / 8)
    if falsy == "":
        assert "empty entry; scored as an empty answer" in problems


def test_nan_confidences_never_reach_strict_scoring():
    answers = {FIRST["challengeId"]: {"q01": {"answer": GOLD["q01"], "citation": "", "confidence": math.nan}}}
    score = score_dacr([FIRST], answers, mode="strict", bootstrap=0)
    assert score.metrics["mean_confidence"] == pytest.approx(0.5 / 4)  # q01 at 0.5; the unanswered at 0
