"""Caches and memos never change a DACR score.

`score_dacr` prepares each benchmark once (gold forms, document indexes: cached by content across
calls), judges each distinct (question, answer) and (question, citation) once per call, shares
what a citation points at among the questions of a document, and memoizes unit lookups. These
tests score seeded random predictions (right, wrong, padded, hedged, malformed) with every cache
cold, then warm, then on deep copies (new objects, same content), and require the same
`TaskScore.to_dict()` to the last bit; and they check each sample row against the rule applied
directly, with no cache at all.
"""

from __future__ import annotations

import copy
import json
import random

import pytest

from crosstrace.scoring import dacr_reference as reference
from crosstrace.scoring.dacr import clear_caches, score_dacr
from crosstrace.scoring.dacr_citation import EvidenceIndex
from crosstrace.scoring.dacr_strict import StrictGold, ValueTarget

COPIES = 12  # each fixture challenge is scored again under new ids, as copies share prepared data


@pytest.fixture(scope="module")
def bench(fixtures_dir):
    return json.loads((fixtures_dir / "scoring" / "bench.json").read_text(encoding="utf-8"))["challenges"]


def _perturbed(text: str, rng: random.Random) -> str:
    digits = [i for i, ch in enumerate(text) if ch in "0123456789"]
    if not digits:
        return text + " or " + rng.choice(["none", "twelve", "1.5"])
    i = rng.choice(digits)
    return text[:i] + str((int(text[i]) + rng.randint(1, 9)) % 10) + text[i + 1 :]


def _answer(challenge: dict, question: dict, golds: list[str], rng: random.Random) -> str:
    gold = str(question["goldAnswer"])
    words = challenge["document"]["text"].split()
    start = rng.randrange(max(1, len(words) - 8))
    return rng.choice(
        [
            gold,
            rng.choice(question.get("goldAnswerAliases") or [gold]),
            f"The {gold}.",
            _perturbed(gold, rng),
            f"{gold} or {_perturbed(gold, rng)}",  # hedging
            rng.choice(golds),  # another question's answer
            f"According to paragraph {rng.randint(0, 9)}, the answer is {gold} ({rng.randint(1, 999)})",
            " ".join(words[start : start + rng.randint(2, 8)]),
            question["text"],  # the question echoed
            rng.choice(["e", "", "  ", "twelve", "one third", "10^999", "five FİVE", "25 °C", "1.6×10⁻⁶"]),
        ]
    )


def _random_predictions(challenges: list[dict], seed: int) -> dict:
    rng = random.Random(seed)
    golds = [str(q["goldAnswer"]) for c in challenges for q in c["questions"]]
    predictions: dict = {}
    for challenge in challenges:
        if rng.random() < 0.1:
            continue  # no prediction for this challenge
        words = challenge["document"]["text"].split()
        answers = {}
        for question in challenge["questions"]:
            if rng.random() < 0.1:
                continue  # no entry for this question
            start = rng.randrange(max(1, len(words) - 8))
            answers[question["questionId"]] = {
                "answer": _answer(challenge, question, golds, rng),
                "citation": rng.choice(
                    ["", f"paragraph {rng.randint(0, 9)}", "Abstract", " ".join(words[start : start + 6])]
                ),
                "confidence": rng.choice([None, round(rng.random(), 2), 1.0, 0.0, "80%", 1.7, float("nan")]),
            }
        if rng.random() < 0.2:
            answers["q99"] = {"answer": "x", "citation": "", "confidence": 0.5}  # a question the challenge lacks
        predictions[challenge["challengeId"]] = answers
    return predictions


def _scenario(bench: list[dict], seed: int) -> tuple[list[dict], dict]:
    challenges = [dict(c, challengeId=f"{c['challengeId']}#{i}") for i in range(COPIES) for c in bench]
    return challenges, _random_predictions(challenges, seed)


@pytest.mark.parametrize("mode", ["strict", "reference"])
@pytest.mark.parametrize("seed", [0, 1])
def test_cold_warm_and_copied_scoring_are_identical(bench, mode, seed):
    challenges, predictions = _scenario(bench, seed)
    clear_caches()
    cold = score_dacr(challenges, predictions, mode=mode, bootstrap=200, seed=seed).to_dict()
    warm = score_dacr(challenges, predictions, mode=mode, bootstrap=200, seed=seed).to_dict()
    copied = score_dacr(
        copy.deepcopy(challenges), copy.deepcopy(predictions), mode=mode, bootstrap=200, seed=seed
    ).to_dict()
    assert cold["n"]["questions"] > 100 and cold["problems"]  # the scenario does exercise bad entries
    assert json.dumps(warm, sort_keys=True) == json.dumps(cold, sort_keys=True)
    assert json.dumps(copied, sort_keys=True) == json.dumps(cold, sort_keys=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_sample_rows_match_the_rules_applied_without_any_cache(bench, seed):
    challenges, predictions = _scenario(bench, seed)
    by_id = {c["challengeId"]: c for c in challenges}
    strict_rows = score_dacr(challenges, predictions, mode="strict", bootstrap=0).samples
    reference_rows = score_dacr(challenges, predictions, mode="reference", bootstrap=0).samples
    answered = 0
    for strict_row in strict_rows:
        if not strict_row["answered"]:
            continue
        answered += 1
        challenge = by_id[strict_row["challenge_id"]]
        question = next(q for q in challenge["questions"] if q["questionId"] == strict_row["question_id"])
        trap = next((t for t in challenge.get("traps") or [] if t["trapId"] == question.get("targetsTrap")), None)
        answer, citation = strict_row["answer"], strict_row["citation"]
        scorable = trap is not None and reference.js_string(trap["correctValue"]) != reference.js_string(
            trap["wrongValue"]
        )
        wrong, right = (
            (ValueTarget(trap["wrongValue"]), ValueTarget(trap["correctValue"])) if scorable else (None, None)
        )
        correct, rule, side = StrictGold(question).assess(answer, wrong, right)
        assert (strict_row["correct"], strict_row["match"], strict_row["trap"]) == (correct, rule, side)
        assert strict_row["citation_score"] == EvidenceIndex(challenge).score(citation, question)

        reference_row = next(
            r
            for r in reference_rows
            if (r["challenge_id"], r["question_id"]) == (strict_row["challenge_id"], strict_row["question_id"])
        )
        rule = reference.match_answer(answer, reference.ReferenceGold(question))
        evaded = reference.trap_evasion(answer, trap) if trap is not None else None
        assert (reference_row["correct"], reference_row["match"]) == (rule != "none", rule)
        assert reference_row["trap"] == (None if evaded is None else ("evaded" if evaded else "fell"))
        document = reference.ReferenceDocument(challenge["document"]["text"])
        assert reference_row["citation_score"] == reference.citation_score(citation, question, document)
    assert answered > 100


@pytest.mark.shared_data
def test_mini_benchmark_cold_and_warm_are_identical(dacr_mini):
    from crosstrace.sources.dacr_bench import load_benchmark

    challenges = load_benchmark(dacr_mini).challenges
    predictions = _random_predictions(challenges, seed=3)
    for mode in ("strict", "reference"):
        clear_caches()
        cold = score_dacr(challenges, predictions, mode=mode, bootstrap=100).to_dict()
        warm = score_dacr(copy.deepcopy(challenges), predictions, mode=mode, bootstrap=100).to_dict()
        assert json.dumps(warm, sort_keys=True) == json.dumps(cold, sort_keys=True)
