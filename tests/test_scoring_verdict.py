"""`judge_answer`: one answer's verdict, the same as score_dacr's sample row, in both modes."""

from __future__ import annotations

import json
import random

import pytest

from crosstrace.scoring.dacr import score_dacr
from crosstrace.scoring.dacr_rules import RULES, rules_for
from crosstrace.scoring.dacr_verdict import Verdict, judge_answer


@pytest.fixture(scope="module")
def bench(fixtures_dir):
    return json.loads((fixtures_dir / "scoring" / "bench.json").read_text(encoding="utf-8"))["challenges"]


def _question(bench, challenge_id, question_id):
    challenge = next(c for c in bench if c["challengeId"] == challenge_id)
    question = next(q for q in challenge["questions"] if q["questionId"] == question_id)
    trap = next((t for t in challenge.get("traps") or [] if t["trapId"] == question.get("targetsTrap")), None)
    return question, trap


def test_strict_verdicts_on_a_trap_question(bench):
    question, trap = _question(bench, "fixture-alloy", "q02")  # gold 1,450 hours; planted 1100
    assert judge_answer(question, "1450 hours", trap=trap) == Verdict(True, "alias", "evaded")
    assert judge_answer(question, "about 1,450 h", trap=trap) == Verdict(True, "value", "evaded")
    fell = judge_answer(question, "1,100 hours", trap=trap)
    assert fell == Verdict(False, "foreign_value", "fell") and fell.fell_for_trap and not fell.evaded_trap
    assert judge_answer(question, "1450 or 1100", trap=trap) == Verdict(False, "foreign_value", "fell")
    assert judge_answer(question, "", trap=trap) == Verdict(False, "empty", None)
    # Without the trap, the same answers are judged by the answer rule alone.
    assert judge_answer(question, "1,100 hours") == Verdict(False, "foreign_value", None)


def test_reference_verdicts_follow_upstream(bench):
    question, trap = _question(bench, "fixture-alloy", "q02")
    assert judge_answer(question, "1450 hours", trap=trap, mode="reference") == Verdict(True, "normalized", "evaded")
    assert judge_answer(question, "1,100 hours", trap=trap, mode="reference") == Verdict(False, "none", "fell")
    question, _ = _question(bench, "fixture-seeds", "q04")
    assert judge_answer(question, "Halvard", mode="reference").correct  # contained in the gold: upstream's leniency
    assert not judge_answer(question, "Halvard").correct


@pytest.mark.parametrize("mode", ["strict", "reference"])
def test_verdicts_equal_score_dacr_sample_rows(bench, mode):
    rng = random.Random(7)
    golds = [str(q["goldAnswer"]) for c in bench for q in c["questions"]]
    predictions = {}
    for challenge in bench:
        words = challenge["document"]["text"].split()
        answers = {}
        for question in challenge["questions"]:
            start = rng.randrange(len(words) - 6)
            answer = rng.choice(
                [
                    str(question["goldAnswer"]),
                    rng.choice(golds),
                    " ".join(words[start : start + 5]),
                    question["text"],
                    "e",
                    "",
                    f"{question['goldAnswer']} or 1100",
                ]
            )
            answers[question["questionId"]] = {"answer": answer, "citation": "", "confidence": 0.5}
        predictions[challenge["challengeId"]] = answers
    rows = score_dacr(bench, predictions, mode=mode, bootstrap=0).samples
    assert len(rows) == sum(len(c["questions"]) for c in bench)
    for row in rows:
        question, trap = _question(bench, row["challenge_id"], row["question_id"])
        verdict = judge_answer(question, row["answer"], mode=mode, trap=trap)
        assert (verdict.correct, verdict.rule, verdict.trap) == (row["correct"], row["match"], row["trap"])


def test_bad_arguments_are_errors_that_say_what_to_pass(bench):
    question, trap = _question(bench, "fixture-alloy", "q02")
    other, _ = _question(bench, "fixture-alloy", "q01")
    with pytest.raises(ValueError, match="scoring mode"):
        judge_answer(question, "1450", mode="lenient")
    with pytest.raises(ValueError, match="targetsTrap: None"):
        judge_answer(other, "Corvane", trap=trap)
    with pytest.raises(TypeError, match="answer must be a string"):
        judge_answer(question, None)


def test_one_rules_object_per_mode():
    assert [rules.mode for rules in RULES.values()] == ["strict", "reference"]
    assert rules_for("strict") is rules_for("strict") and rules_for("strict").info()["version"].startswith(
        "crosstrace-dacr-strict"
    )
    assert rules_for("reference").info() == {"mode": "reference", "version": "dacr-bench-evaluate.ts"}
