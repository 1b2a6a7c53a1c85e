"""score_dacr on hand-made predictions with known metrics, both modes; and on the mini file."""

from __future__ import annotations

import gc
import json

import pytest

from crosstrace.scoring import dacr_aggregate
from crosstrace.scoring.dacr import score_dacr
from crosstrace.scoring.types import TaskScore


@pytest.fixture(scope="module")
def bench(fixtures_dir):
    return json.loads((fixtures_dir / "scoring" / "bench.json").read_text(encoding="utf-8"))["challenges"]


def entry(answer, confidence=None, citation=""):
    return {"answer": answer, "citation": citation, "confidence": confidence}


# Hand-made predictions; the expected verdicts are worked out in the comments.
PREDICTIONS = {
    "fixture-alloy": {
        "q01": entry(
            "Corvane Metals",
            0.9,
            "Methods: Specimens were machined from a single forged bar supplied by Corvane Metals",
        ),  # both: exact
        "q02": entry(
            "1,100 hours", 0.6, "preliminary estimate from early screening"
        ),  # the planted value: wrong, fell (both)
        "q03": entry("470", 0.8),  # alias (both)
        "q04": entry("3.2e-8 s^-1", 0.7),  # strict: value; reference: digits 3.2 vs 3.21 within 1%
        "q05": entry("45 μm", 1.0, "paragraph 3"),  # strict: exact (µ/μ folded); reference: numeric
    },
    "fixture-seeds": {
        "q01": entry("18 percent", 0.8, "Abstract"),  # alias (both)
        "q02": entry("cold stratification", 0.5),  # alias (both)
        "q03": entry("25 °C", None),  # exact; confidence missing -> 0.5; the trap has equal values
        "q04": entry("Halvard", 0.4),  # strict: F1 0.5, wrong; reference: contained in the gold, correct
    },
    # fixture-flux (synthetic) has no prediction: strict counts it wrong, reference leaves it out.
}


def test_strict_metrics_on_known_predictions(bench):
    score = score_dacr(bench, PREDICTIONS, mode="strict", bootstrap=200)
    m = score.metrics
    assert m["accuracy"] == pytest.approx(7 / 12)
    assert m["pass_rate"] == pytest.approx(2 / 3)
    assert m["cars"] == pytest.approx(1 / 3)  # trap questions: alloy q02 wrong, seeds q03 right, flux q01 unanswered
    assert m["trap_evasion"] == pytest.approx(0.0)  # only alloy q02 takes a side (fell); seeds' trap is equal-valued
    assert m["confidence_weighted_accuracy"] == pytest.approx(5.2 / 6.2)
    assert m["brier"] == pytest.approx(1.2 / 12)
    assert m["ece"] == pytest.approx(2.8 / 12)
    assert m["mean_confidence"] == pytest.approx(6.2 / 12)
    assert m["coverage"] == pytest.approx(9 / 12)
    assert m["transfer_gap"] == pytest.approx(7 / 9)
    # Citations: 11 scorable questions (flux q02's gold is a number: no evidence paragraph);
    # alloy q01 quotes paragraph 2 and q05 names paragraph 3 (1.0 each), seeds q01 names the
    # Abstract section (0.5); alloy q02 cites the planted paragraph (0).
    assert m["citation"] == pytest.approx(2.5 / 11)
    assert score.n["citation"] == 11
    assert score.n["challenges_without_prediction"] == 1 and score.n["questions"] == 12
    assert score.n["confidence_missing"] == 1
    assert score.scoring["mode"] == "strict" and score.scoring["version"].startswith("crosstrace-dacr-strict")


def test_reference_metrics_on_known_predictions(bench):
    score = score_dacr(bench, PREDICTIONS, mode="reference", bootstrap=200)
    m = score.metrics
    assert m["accuracy"] == pytest.approx(8 / 9)  # the unpredicted challenge is left out
    assert m["pass_rate"] == pytest.approx(1.0)
    assert m["cars"] == pytest.approx(1 / 2)
    assert m["trap_evasion"] == pytest.approx(1 / 2)  # alloy q02 fell; seeds q03 "25c" contains "25": evaded
    # Seeds q03 has no confidence: 0, as upstream's scorer reads a predictions file (`?? 0`).
    assert m["confidence_weighted_accuracy"] == pytest.approx(5.1 / 5.7)
    # Upstream bins: 0.6 and 0.7 fall one bin low, 1.0 in none; bins 8 (0.5), 5 (0.1), 6 (0.3), 4 (0.6), 0 (1.0).
    assert m["ece"] == pytest.approx(2.5 / 9)
    assert m["mean_confidence"] == pytest.approx(5.7 / 9)
    assert m["transfer_gap"] is None  # no synthetic challenge was scored
    # The same answers parsed from raw outputs: a missing confidence is 0.5, as upstream's runner writes it.
    from_outputs = score_dacr(bench, PREDICTIONS, mode="reference", bootstrap=0, answers_from="outputs").metrics
    assert from_outputs["confidence_weighted_accuracy"] == pytest.approx(5.6 / 6.2)
    assert from_outputs["ece"] == pytest.approx(1.8 / 9)
    assert from_outputs["mean_confidence"] == pytest.approx(6.2 / 9)
    assert m["citation"] == pytest.approx(3 / 9)
    assert score.n["questions"] == 9 and score.n["challenges_scored"] == 2


def test_breakdowns(bench):
    score = score_dacr(bench, PREDICTIONS, mode="strict", bootstrap=100)
    b = score.breakdowns
    assert set(b) == {"category", "hops", "split", "domain", "difficulty", "answer_format"}
    assert b["category"]["trap_targeted"]["metrics"]["accuracy"] == pytest.approx(1 / 3)
    assert b["category"]["trap_targeted"]["n"]["accuracy"] == 3
    assert b["split"]["real"]["metrics"]["accuracy"] == pytest.approx(7 / 9)
    assert b["split"]["real"]["metrics"]["pass_rate"] == pytest.approx(1.0)
    assert b["split"]["synthetic"]["metrics"]["accuracy"] == 0.0
    assert b["domain"]["biology"]["n"]["pass_rate"] == 1
    assert list(b["difficulty"]) == ["easy", "medium", "hard"]
    assert b["difficulty"]["hard"]["metrics"]["accuracy"] == 1.0  # alloy q05
    assert set(b["answer_format"]) <= {"numeric", "composite", "short_text", "long_text"}
    assert b["hops"]["2"]["n"]["questions"] == 5


def test_intervals_are_seeded_and_contain_the_estimate(bench):
    first = score_dacr(bench, PREDICTIONS, bootstrap=300, seed=1)
    again = score_dacr(bench, PREDICTIONS, bootstrap=300, seed=1)
    other = score_dacr(bench, PREDICTIONS, bootstrap=300, seed=2)
    assert first.ci95 == again.ci95
    assert first.ci95 != other.ci95
    low, high = first.ci95["accuracy"]
    assert low <= first.metrics["accuracy"] <= high
    assert "trap_evasion" in first.ci95 or first.n["trap_evasion"] <= 1
    assert score_dacr(bench, PREDICTIONS, bootstrap=0).ci95 == {}


def test_samples_carry_verdicts_and_no_reference_text(bench):
    score = score_dacr(bench, PREDICTIONS)
    assert len(score.samples) == 12
    row = next(s for s in score.samples if s["challenge_id"] == "fixture-alloy" and s["question_id"] == "q02")
    assert row["correct"] is False and row["trap"] == "fell" and row["targets_trap"] is True
    assert row["answer"] == "1,100 hours"
    for sample in score.samples:
        assert not {"goldAnswer", "gold", "question", "text", "document"} & set(sample)
    json.dumps(score.to_dict())  # JSON-safe


def test_gold_answers_score_full_marks_in_both_modes(bench):
    gold = {c["challengeId"]: {q["questionId"]: entry(q["goldAnswer"], 1.0) for q in c["questions"]} for c in bench}
    for mode in ("strict", "reference"):
        assert score_dacr(bench, gold, mode=mode).metrics["accuracy"] == 1.0


def test_bad_predictions_are_reported_not_raised(bench):
    predictions = {
        "fixture-alloy": {
            "q01": {"answer": 12, "confidence": float("nan")},
            "q99": entry("x"),
            "q02": None,
            "q03": ["a", "b"],
        },
        "no-such-challenge": {"q01": entry("x")},
    }
    score = score_dacr(bench, predictions)
    reasons = " | ".join(p["message"] for p in score.problems)
    assert "not in the benchmark" in reasons
    assert "does not have" in reasons  # q99
    assert "not a finite number" in reasons
    assert "null entry" in reasons
    assert "expected an object" in reasons
    assert score.n["answered"] == 2  # q01 (answer 12 read as "12") and q03 (no usable answer)


def test_upstream_list_is_accepted(bench):
    upstream = [
        {
            "challengeId": "fixture-alloy",
            "model": "m",
            "answers": {"q03": {"answer": "470", "citation": "", "confidence": 0.5}},
        }
    ]
    score = score_dacr(bench, upstream, mode="reference")
    assert score.metrics["accuracy"] == pytest.approx(1 / 5)


def test_the_garbage_collector_is_paused_during_a_call_and_left_as_it_was(bench, monkeypatch):
    assert gc.isenabled()
    score_dacr(bench, PREDICTIONS, bootstrap=0)
    assert gc.isenabled()
    gc.disable()  # a caller that paused it keeps it paused
    try:
        score_dacr(bench, PREDICTIONS, bootstrap=0)
        assert not gc.isenabled()
    finally:
        gc.enable()
    states = []

    def failing_aggregate(*args, **kwargs):
        states.append(gc.isenabled())
        raise RuntimeError("aggregation failed")

    monkeypatch.setattr(dacr_aggregate, "aggregate", failing_aggregate)
    with pytest.raises(RuntimeError, match="aggregation failed"):
        score_dacr(bench, PREDICTIONS, bootstrap=0)
    assert states == [False]  # paused while scoring
    assert gc.isenabled()  # and resumed after a failure too


def test_unknown_mode_is_an_error(bench):
    with pytest.raises(ValueError, match="scoring mode"):
        score_dacr(bench, {}, mode="lenient")


def test_returns_task_score(bench):
    assert isinstance(score_dacr(bench, {}), TaskScore)
    assert score_dacr(bench, {}).metrics["accuracy"] == 0.0
    assert score_dacr(bench, {}, mode="reference").metrics["accuracy"] == 0.0  # nothing scored: upstream's 0


@pytest.mark.shared_data
def test_mini_gold_and_degenerate_answers(dacr_mini):
    from crosstrace.sources.dacr_bench import load_benchmark

    challenges = load_benchmark(dacr_mini).challenges
    gold = {
        c["challengeId"]: {q["questionId"]: entry(q["goldAnswer"], 1.0) for q in c["questions"]} for c in challenges
    }
    only_e = {c["challengeId"]: {q["questionId"]: entry("e", 0.5) for q in c["questions"]} for c in challenges}
    for mode in ("strict", "reference"):
        assert score_dacr(challenges, gold, mode=mode, bootstrap=0).metrics["accuracy"] == 1.0
    assert score_dacr(challenges, only_e, mode="strict", bootstrap=0).metrics["accuracy"] <= 0.05
    # docs/upstream-formats.md §2: answering "e" everywhere scores about 70% under upstream's rules.
    assert score_dacr(challenges, only_e, mode="reference", bootstrap=0).metrics["accuracy"] == pytest.approx(
        0.70, abs=0.02
    )
