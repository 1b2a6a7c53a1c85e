"""The question record and the lettering of options: validity, balance over A-J, seeded determinism."""

from __future__ import annotations

from collections import Counter

import pytest
from scipy.stats import chisquare

from crosstrace.mcq.labels import Labels
from crosstrace.mcq.options import Draft, assemble, balanced_letters, rng_for
from crosstrace.mcq.record import COLUMNS, LETTERS, record_problems

LABELS = Labels("Physics", "Physical sciences", "Physics")


def draft(number: int) -> Draft:
    return Draft(
        id=f"test/{number:04d}",
        source="test/generator",
        question=f"Question number {number}?",
        correct=f"right {number}",
        distractors=tuple(f"wrong {number}.{k}" for k in range(9)),
        labels=LABELS,
        paper_id=None,
    )


@pytest.mark.parametrize("n", [1, 9, 10, 37, 1000])
def test_balanced_letters_use_each_letter_floor_or_ceil_times(n):
    counts = Counter(balanced_letters(n, rng_for(0, "t", n)))
    assert sum(counts.values()) == n
    assert all(n // 10 <= counts.get(letter, 0) <= -(-n // 10) for letter in LETTERS)


def test_assembled_records_are_valid_wildsci_records():
    drafts = {d.id: d for d in (draft(i) for i in range(25))}
    records = assemble(list(drafts.values()), seed=3, scope="cfg/train")
    assert [r["id"] for r in records] == sorted(drafts)
    for record in records:
        assert list(record) == list(COLUMNS)
        assert record_problems(record) == []
        assert record["options"][record["answer"]] == drafts[record["id"]].correct
        assert record["voting_type"] is None and record["voting_answers"] is None
        assert (record["discipline"], record["nc_domain"], record["nc_subdomain"]) == (
            "Physics",
            "Physical sciences",
            "Physics",
        )


def test_answer_letters_pass_a_chi_square_test_of_uniformity():
    records = assemble([draft(i) for i in range(523)], seed=0, scope="cfg/test")
    counts = Counter(r["answer"] for r in records)
    statistic, p_value = chisquare([counts[letter] for letter in LETTERS])
    # Balanced by construction: the statistic is tiny (a random draw of 523 letters would give ~9).
    assert statistic < 1.0 and p_value > 0.99


def test_lettering_depends_on_seed_and_id_only():
    drafts = [draft(i) for i in range(40)]
    once = assemble(drafts, seed=7, scope="cfg/train")
    again = assemble(list(reversed(drafts)), seed=7, scope="cfg/train")  # order of generation is irrelevant
    assert once == again
    other_seed = assemble(drafts, seed=8, scope="cfg/train")
    assert [r["answer"] for r in once] != [r["answer"] for r in other_seed]


def test_a_draft_needs_exactly_nine_distractors():
    with pytest.raises(ValueError, match="expected 9 distractors"):
        Draft(id="x", source="s", question="q", correct="a", distractors=("b",), labels=LABELS)


def test_duplicate_options_are_a_generator_bug():
    bad = Draft(
        id="x",
        source="s",
        question="q",
        correct="same",
        distractors=("Same", *(f"d{k}" for k in range(8))),
        labels=LABELS,
    )
    with pytest.raises(ValueError, match="not all different"):
        assemble([bad], seed=0, scope="cfg/train")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"answer": "K"}, "answer"),
        ({"options": {letter: letter for letter in "ABCDEFGHI"}}, "options"),
        ({"question": " "}, "question"),
        ({"voting_answers": "A"}, "voting_answers"),
    ],
)
def test_record_problems_name_the_field(change, problem):
    record = {**assemble([draft(1)], seed=0, scope="c/s")[0], **change}
    assert any(p.startswith(f"{problem}:") for p in record_problems(record))


def test_built_records_follow_the_wildsci_reader_rules():
    # One check serves our records and WildSci's lines: the same field and reason from both.
    record = assemble([draft(1)], seed=0, scope="c/s")[0]
    options = dict(record["options"])
    options["G"] = f"  {options['B'].upper()} "
    assert record_problems({**record, "options": options}) == [
        "options.G: same text as option B: the options are not all different"
    ]
    assert record_problems({**record, "paper_id": 3}) == ["paper_id: expected a string or null, got int"]
