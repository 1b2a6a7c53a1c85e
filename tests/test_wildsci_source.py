"""The WildSci reader on our own fixtures: valid questions kept as they are, bad lines named and counted."""

from __future__ import annotations

import pytest

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.mcq.record import COLUMNS, LETTERS, record_problems
from crosstrace.sources.wildsci import read_wildsci


def test_reads_valid_questions_as_released(fixtures_dir):
    records = read_wildsci(fixtures_dir / "mcq" / "wildsci_sample.jsonl")
    assert [r["answer"] for r in records] == ["A", "B", "C", "D"]
    assert all(record_problems(r) == [] for r in records)
    first = records[0]
    assert list(first) == list(COLUMNS)
    assert first["id"] == "wildsci/000001" and first["source"] == "wildsci"
    assert tuple(first["options"]) == tuple(LETTERS)
    assert first["voting_answers"] == ["A"] * 8 and first["voting_type"] == "all_aligned"
    assert records[2]["voting_answers"] is None  # absent votes stay null


def test_first_bad_line_raises_with_line_and_field(fixtures_dir):
    with pytest.raises(DataError) as caught:
        read_wildsci(fixtures_dir / "mcq" / "wildsci_bad.jsonl")
    error = caught.value
    assert (error.line, error.field) == (2, "options")
    assert "ten options A-J" in str(error) and "wildsci_bad.jsonl:2" in str(error)


def test_skip_policy_keeps_good_lines_and_reports_each_bad_one(fixtures_dir):
    policy = ErrorPolicy("skip")
    records = read_wildsci(fixtures_dir / "mcq" / "wildsci_bad.jsonl", policy)
    assert [r["id"] for r in records] == ["wildsci/000001", "wildsci/000011"]
    reported = {(s.line, s.field) for s in policy.skipped}
    assert reported == {
        (2, "options"),  # nine options
        (3, "answer"),  # "K"
        (4, None),  # not JSON
        (5, "options.G"),  # same text as B
        (7, "question"),  # empty
        (8, "options"),  # an eleventh key
        (9, "voting_answers"),  # not a list
        (10, "options"),  # a list, not an object
    }
    duplicate = next(s for s in policy.skipped if s.line == 5)
    assert "same text as option B" in duplicate.reason


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_wildsci(tmp_path / "wildsci.jsonl")
