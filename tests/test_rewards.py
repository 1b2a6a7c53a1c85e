"""crosstrace.rewards: each reward's definition, the option reshuffle, and the gaming audit."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from crosstrace.engine import TRAIN_DOMAINS, generate_challenge
from crosstrace.engine.records import engine_row
from crosstrace.rewards import REWARD_COLUMNS, REWARDS
from crosstrace.rewards.audit import DEGENERATE_CEILING, GOLD, STRATEGIES, audit, format_table
from crosstrace.rewards.crosstrace import structure_score
from crosstrace.rewards.mcq import reshuffle_options
from crosstrace.training.mixture import MixtureSource, build_mixture


def _call(name, completions, **columns):
    return REWARDS[name](prompts=[None] * len(completions), completions=completions, **columns)


@pytest.fixture(scope="module")
def fixture_rows(fixtures_dir):
    """GRPO rows of the three training fixtures, through the mixture (which passes the reward columns)."""
    train = fixtures_dir / "train"
    files = {"ct": "crosstrace_chat.jsonl", "mcq": "mcq.jsonl", "dacr": "dacr_grpo.jsonl"}
    sources = [MixtureSource(label=label, path="json", data_files=str(train / name)) for label, name in files.items()]
    return list(build_mixture(sources, seed=0).dataset)


@pytest.fixture(scope="module")
def engine_rows():
    return [engine_row(generate_challenge(seed, TRAIN_DOMAINS[seed])) for seed in range(2)]


def _by_source(rows, label):
    return [row for row in rows if row["source"] == label]


# ----------------------------------------------------------------------------- MCQ


@pytest.mark.parametrize(
    ("text", "reward"),
    [
        ("Answer: C", 1.0),
        ("The options differ in...\nA. is wrong because...\nB. too.\nAnswer: C", 1.0),  # listing, then answering
        ("Answer: B", 0.0),
        ("The answer is C or D.", 0.0),  # hedging across letters
        ("", 0.0),
        ("C. D. E.", 0.0),  # a run of letters
        ("A. first option\nB. second\nC. third", 0.0),  # the gold letter buried in a list of options
    ],
)
def test_mcq_letter(text, reward):
    assert _call("mcq_letter", [text], answer=["C"]) == [reward]


def test_rewards_return_none_on_other_datasets_rows():
    for name, columns in REWARD_COLUMNS.items():
        if name == "crosstrace_similarity":
            continue  # loads MiniLM; tested below
        assert _call(name, ["Answer: C"], **{column: [None] for column in columns}) == [None], name
        assert _call(name, ["Answer: C"]) == [None], name  # the column missing altogether


def test_reshuffle_remaps_the_gold_letter_and_is_seeded(fixtures_dir):
    record = json.loads((fixtures_dir / "train" / "mcq.jsonl").read_text().split("\n")[0])
    gold_text = record["options"][record["answer"]]
    letters = Counter()
    for seed in range(300):
        shuffled = reshuffle_options(record, seed)
        assert shuffled["options"][shuffled["answer"]] == gold_text
        assert sorted(shuffled["options"].values()) == sorted(record["options"].values())
        letters[shuffled["answer"]] += 1
    assert reshuffle_options(record, 7) == reshuffle_options(record, 7)
    assert len(letters) == 10 and min(letters.values()) >= 15  # about uniform: 30 expected per letter


# ----------------------------------------------------------------------------- DACR


def test_dacr_rows_carry_trap_values_and_evidence(engine_rows):
    golds = [g for row in engine_rows for g in row["gold_answers"]]
    trapped = [g for g in golds if g["targets_trap"]]
    assert trapped and all(g["trap_planted_value"] and g["trap_correct_value"] for g in trapped)
    assert all(g["trap_planted_value"] is None for g in golds if not g["targets_trap"])
    assert all(g["evidence_paragraphs"] for g in golds)


@pytest.mark.parametrize("name", ["dacr_answers", "dacr_citation", "dacr_format"])
def test_engine_gold_traces_earn_the_maximum(engine_rows, name):
    completions = [row["completion"] for row in engine_rows]
    assert _call(name, completions, gold_answers=[row["gold_answers"] for row in engine_rows]) == [1.0, 1.0]


def _fixture_reply(answers: dict) -> str:
    return "Reasoning first.\n" + json.dumps(answers)


def test_dacr_answers_is_trap_aware(fixture_rows):
    (row,) = [r for r in _by_source(fixture_rows, "dacr") if "reservoir" in r["prompt"][-1]["content"]]
    golds = [row["gold_answers"]]
    right = {"answer": "46 million cubic metres", "citation": "[P2]", "confidence": 0.9}
    planted = {"answer": "40 million cubic metres", "citation": "[P1]", "confidence": 0.9}
    second = {"answer": "1987", "citation": "[P3]", "confidence": 0.9}
    assert _call("dacr_answers", [_fixture_reply({"q01": right, "q02": second})], gold_answers=golds) == [1.0]
    assert _call("dacr_answers", [_fixture_reply({"q01": planted, "q02": second})], gold_answers=golds) == [0.5]
    # citing the planted paragraph, or every paragraph, is not grounded
    assert _call("dacr_citation", [_fixture_reply({"q01": planted, "q02": second})], gold_answers=golds) == [0.5]
    everything = {**right, "citation": "paragraphs 1-3"}
    assert _call("dacr_citation", [_fixture_reply({"q01": everything, "q02": second})], gold_answers=golds) == [0.5]


def test_dacr_format_needs_a_final_strict_json_object_with_every_question(fixture_rows):
    row = _by_source(fixture_rows, "dacr")[0]
    golds = [row["gold_answers"]]
    entry = {"answer": "x1", "citation": "[P1]", "confidence": 0.5}
    assert _call("dacr_format", [json.dumps({"q01": entry, "q02": entry})], gold_answers=golds) == [1.0]
    assert _call("dacr_format", [json.dumps({"q01": entry})], gold_answers=golds) == [0.5]
    assert _call("dacr_format", [json.dumps({"q01": entry, "q02": entry}) + "\nDone."], gold_answers=golds) == [0.0]
    bad_confidence = {**entry, "confidence": 1.5}
    assert _call("dacr_format", [json.dumps({"q01": entry, "q02": bad_confidence})], gold_answers=golds) == [0.5]


# ----------------------------------------------------------------------------- CrossTrace


def test_structure_partial_credit(fixture_rows):
    gold = _by_source(fixture_rows, "ct")[0]["completion"][0]["content"]
    assert structure_score(gold, "crosstrace") == 1.0
    no_approach = gold[: gold.index("\n\nApproach:")]
    assert structure_score(no_approach, "crosstrace") == pytest.approx(0.75)  # 3 of 4 sections, every rule met
    assert structure_score("Preamble.\n\n" + gold, "crosstrace") == pytest.approx(0.8)  # text before: one rule lost
    assert structure_score(no_approach, "hypogen") == 1.0
    assert structure_score("Core insight:\n\nReasoning:\n1.\n2.\n3.\n\nHypothesis:\n\nApproach:", "crosstrace") == 0.0


def test_similarity_is_one_for_the_reference_and_zero_without_a_hypothesis(fixture_rows):
    rows = _by_source(fixture_rows, "ct")[:1]
    completions = [rows[0]["completion"], "Core insight: x\n\nHypothesis:\n\nApproach: y", "Answer: C"]
    rewards = _call(
        "crosstrace_similarity",
        completions,
        hypothesis=[rows[0]["hypothesis"]] * 2 + [None],
        approach=[rows[0]["approach"]] * 2 + [None],
    )
    assert rewards[0] == pytest.approx(1.0, abs=1e-5) and rewards[1:] == [0.0, None]


# ----------------------------------------------------------------------------- gaming audit


def test_gaming_audit(fixture_rows, engine_rows):
    """Degenerate completions earn at most 5% of the maximum on every reward (a constant letter:
    chance, checked on reshuffled options), and gold completions earn the maximum."""
    mcq = _by_source(fixture_rows, "mcq")
    reshuffled = []
    for seed in range(40):  # 80 questions with uniform gold letters: a constant letter earns ~1/10
        for row in mcq:
            record = reshuffle_options({"question": row["prompt"][-1]["content"], **_options(row)}, seed)
            reshuffled.append({**row, "answer": record["answer"], "completion": f"Answer: {record['answer']}"})
    grpo_engine = [
        {**row, "source": "dacr-engine", "hypothesis": None, "approach": None, "answer": None} for row in engine_rows
    ]
    rows = [r for r in fixture_rows if r["source"] != "mcq"] + reshuffled + grpo_engine
    cells = audit(rows, [name for name in REWARDS if name != "crosstrace_similarity"])
    failures = [c for c in cells if not c.passes]
    assert not failures, format_table(cells)
    assert {c.strategy for c in cells} == {GOLD, *STRATEGIES}
    chance = {c.strategy: c.mean for c in cells if c.reward == "mcq_letter"}
    assert chance["one letter"] <= 0.2 and chance["all ten letters"] <= DEGENERATE_CEILING


def _options(row):
    """The options of a rendered MCQ prompt ("A. text" lines) and its gold letter."""
    lines = [line for line in row["prompt"][-1]["content"].split("\n") if line[:2] in {f"{c}." for c in "ABCDEFGHIJ"}]
    return {"options": {line[0]: line[3:] for line in lines}, "answer": row["answer"]}
