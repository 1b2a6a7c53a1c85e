"""MCQ scoring: final-letter extraction (two letters named is wrong), accuracy per discipline
and subdomain, and the log-likelihood helper."""

from __future__ import annotations

import pytest

from crosstrace.scoring.mcq import extract_letter, pick_option, score_mcq, score_mcq_loglik


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("C", "C"),
        ("(C)", "C"),
        ("**C**", "C"),
        ("C. The hypothesis that follows", "C"),
        ("The answer is C.", "C"),
        ("The answer is (C).", "C"),
        ("Answer: J", "J"),
        ("answer: c", "C"),
        ("Final answer: \\boxed{D}", "D"),
        ("Option B is correct.", "B"),
        ("The best option is D", "D"),
        ("I would pick E", "E"),
        ("Options A and B fail because ... The correct answer is J", "J"),
        ("Answer: (C) because option A is wrong", "C"),
        ("I first thought A. Final answer: F", "F"),
        ("<think>maybe A</think>The answer is B", "B"),
        # hedging across two letters gives no answer
        ("The answer is A or C.", None),
        ("The answer is A/C", None),
        ("Answer: B and D", None),
        # no committed letter
        ("The answer is a mix of both effects", None),
        ("none of the above", None),
        ("K", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_letter(output, letter):
    assert extract_letter(output) == letter


RECORDS = [
    {"id": "m1", "answer": "A", "discipline": "Physics", "nc_subdomain": "Optics"},
    {"id": "m2", "answer": "B", "discipline": "Physics", "nc_subdomain": "Optics"},
    {"id": "m3", "answer": "C", "discipline": "Physics", "nc_subdomain": "Condensed matter"},
    {"id": "m4", "answer": "D", "discipline": "Biology", "nc_subdomain": "Ecology"},
    {"id": "m5", "answer": "J", "discipline": "Biology", "nc_subdomain": "Ecology"},
]


def test_score_mcq_overall_and_breakdowns():
    outputs = ["Answer: A", "The answer is B or C", "C", "I choose D", "no idea"]
    score = score_mcq(RECORDS, outputs, bootstrap=200)
    assert score.metrics["accuracy"] == pytest.approx(3 / 5)
    assert score.metrics["answer_rate"] == pytest.approx(3 / 5)  # m2 hedged, m5 silent
    assert score.n["no_answer"] == 2
    assert score.breakdowns["discipline"]["Physics"]["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert score.breakdowns["discipline"]["Biology"]["metrics"]["accuracy"] == pytest.approx(1 / 2)
    assert score.breakdowns["subdomain"]["Optics"]["n"]["accuracy"] == 2
    low, high = score.ci95["accuracy"]
    assert 0.0 <= low <= 0.6 <= high <= 1.0
    assert [s["predicted"] for s in score.samples] == ["A", None, "C", "D", None]


def test_bad_gold_letter_is_reported():
    score = score_mcq([{"answer": "Z"}, {"answer": "a"}], ["Z", "A"], bootstrap=0)
    assert score.metrics["accuracy"] == pytest.approx(0.5)
    assert len(score.problems) == 1 and score.problems[0]["field"] == "answer"


def test_lengths_must_match():
    with pytest.raises(ValueError, match="one output per record"):
        score_mcq(RECORDS, ["A"])


@pytest.mark.parametrize(
    ("table", "letter"),
    [
        ({"A": -3.0, "B": -1.0, "C": -2.0}, "B"),
        ({"A": -1.0, "B": -1.0}, None),
        ({"A": float("nan"), "B": -5.0}, "B"),
        ({}, None),
    ],
)
def test_pick_option(table, letter):
    assert pick_option(table) == letter


def test_score_mcq_loglik():
    tables = [
        {"A": -0.1, "B": -2.0},
        {"A": -0.5, "B": -0.5},
        {"C": -0.2, "D": -1.0},
        {"D": -0.3},
        {"J": -0.1, "A": -4.0},
    ]
    score = score_mcq_loglik(RECORDS, tables, normalization="mean", bootstrap=0)
    assert score.metrics["accuracy"] == pytest.approx(4 / 5)  # the tie (m2) is wrong
    assert score.scoring["mode"] == "loglik-mean"
