"""Questions from CrossTrace rows (our own made-up fixture studies), with controlled embeddings."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from crosstrace.mcq.crosstrace_questions import (
    MIN_ORDER_STEPS,
    NEAR_DUPLICATE_THRESHOLD,
    hypothesis_matching_drafts,
    reasoning_order_drafts,
)
from crosstrace.mcq.options import assemble
from crosstrace.mcq.record import record_problems


@pytest.fixture(scope="module")
def rows(fixtures_dir):
    by_split = defaultdict(list)
    for row in json.loads((fixtures_dir / "mcq" / "crosstrace_rows.json").read_text(encoding="utf-8")):
        by_split[row["id"].split("-")[1]].append(row)
    return dict(by_split)


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def asked_study(question: str) -> str:
    number = re.search(r"did Study (\d+) propose\?$", question).group(1)
    return next(block for block in question.split("\n\n") if block.startswith(f"Study {number}\n"))


def test_each_study_is_asked_once_with_its_own_hypothesis(rows):
    test_rows = rows["test"]
    drafts, notes = hypothesis_matching_drafts(test_rows, unit_vectors(len(test_rows)), seed=0)
    assert len(drafts) == len(test_rows) == 10 and not notes
    by_hypothesis = {row["hypothesis"]: row for row in test_rows}
    for draft in drafts:
        row = by_hypothesis[draft.correct]
        assert draft.id == f"hypothesis_matching/{row['id']}" and draft.source == "crosstrace/hypothesis_matching"
        block = asked_study(draft.question)
        assert row["field_context"] in block and row["conventional_assumption"] in block
        assert set(draft.distractors) == set(by_hypothesis) - {draft.correct}  # all from this split
        assert draft.question.count("\nField context: ") == 10


def test_a_group_asks_about_each_of_its_options_once(rows):
    train = rows["train"]  # 12 biomedical studies and 3 ai_ml ones
    drafts, notes = hypothesis_matching_drafts(train, unit_vectors(len(train), seed=1), seed=0)
    assert len(drafts) == 12
    assert notes == Counter({"skipped: fewer than 10 compatible studies in the ai_ml pool": 3})
    answers_by_options = defaultdict(list)
    for draft in drafts:
        answers_by_options[frozenset((draft.correct, *draft.distractors))].append(draft.correct)
    for answers in answers_by_options.values():
        assert len(answers) == len(set(answers))  # no option is the answer twice in one group
    assert sorted(len(a) for a in answers_by_options.values()) == [2, 10]  # the last group borrows eight studies


def test_distractors_are_the_nearest_hypotheses(rows):
    train = [row for row in rows["train"] if row["domain"] == "biomedical"]
    vectors = unit_vectors(len(train), seed=2)
    drafts, _ = hypothesis_matching_drafts(train, vectors, seed=0)
    first_group = drafts[0]  # drafts come group by group, in the order the groups were formed
    members = [
        i for i, row in enumerate(train) if row["hypothesis"] in {first_group.correct, *first_group.distractors}
    ]
    outsiders = [i for i in range(len(train)) if i not in members]
    # Some member started the group; every other member is nearer to it than any outsider.
    assert any(
        min(vectors[start] @ vectors[m] for m in members if m != start)
        >= max(vectors[start] @ vectors[o] for o in outsiders)
        for start in members
    )


def test_near_duplicate_hypotheses_never_share_a_question(rows):
    train = [row for row in rows["train"] if row["domain"] == "biomedical"]
    vectors = unit_vectors(len(train), seed=3)
    vectors[1] = vectors[0] + 0.01 * vectors[1]  # study 1 restates study 0
    vectors[1] /= np.linalg.norm(vectors[1])
    assert vectors[0] @ vectors[1] > NEAR_DUPLICATE_THRESHOLD
    drafts, notes = hypothesis_matching_drafts(train, vectors, seed=0)
    twins = {train[0]["hypothesis"], train[1]["hypothesis"]}
    assert all(not twins <= {d.correct, *d.distractors} for d in drafts)
    assert notes["near-duplicate hypothesis pairs, never shown together"] == 1


def test_study_order_and_letters_are_seeded(rows):
    test_rows = rows["test"]
    vectors = unit_vectors(len(test_rows))
    first = assemble(hypothesis_matching_drafts(test_rows, vectors, seed=5)[0], seed=5, scope="c/test")
    again = assemble(hypothesis_matching_drafts(test_rows, vectors, seed=5)[0], seed=5, scope="c/test")
    other = assemble(hypothesis_matching_drafts(test_rows, vectors, seed=6)[0], seed=6, scope="c/test")
    assert first == again
    assert [r["question"] for r in first] != [r["question"] for r in other]
    assert all(record_problems(r) == [] for r in first)


def shown_steps(question: str) -> list[str]:
    block = question.split("Shuffled reasoning steps:\n")[1].split("\n\n")[0]
    return [re.sub(r"^\[\d+\] ", "", line) for line in block.splitlines()]


def test_reasoning_order_answer_restores_the_studys_steps(rows):
    all_rows = [row for split in rows.values() for row in split]
    drafts, notes = reasoning_order_drafts(all_rows, seed=0)
    eligible = [row for row in all_rows if len(row["steps"]) >= MIN_ORDER_STEPS]
    assert len(drafts) == len(eligible) and notes[f"skipped: fewer than {MIN_ORDER_STEPS} reasoning steps"] == len(
        all_rows
    ) - len(eligible)
    for draft, row in zip(drafts, eligible, strict=True):
        shown = shown_steps(draft.question)
        order = [int(n) for n in draft.correct.split(", ")]
        assert [shown[n - 1] for n in order] == row["steps"]
        assert shown != row["steps"]  # never shown in the right order
        identity = ", ".join(str(n) for n in range(1, len(shown) + 1))
        assert identity not in draft.distractors and draft.correct not in draft.distractors
        assert all(sorted(d.split(", ")) == sorted(draft.correct.split(", ")) for d in draft.distractors)
        assert row["hypothesis"] in draft.question and row["field_context"] in draft.question
