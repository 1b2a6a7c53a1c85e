"""Grounding check: step quotes found in a paper's text, verbatim or fuzzily, per step and per record."""

from __future__ import annotations

import json

import pytest

from crosstrace.errors import ErrorPolicy
from crosstrace.grounding import (
    FUZZY_THRESHOLD,
    SourceText,
    check_record,
    main,
    normalize,
    paper_file_name,
    split_source,
    summarize,
)
from crosstrace.schema import Grounding, TraceRecord
from crosstrace.sources.crosstrace_raw import read_raw_file


@pytest.fixture
def raw_dir(fixtures_dir):
    return fixtures_dir / "crosstrace" / "raw"


@pytest.fixture
def first_raw_record(raw_dir) -> TraceRecord:
    return read_raw_file(raw_dir / "all_traces.jsonl", ErrorPolicy())[0].record


@pytest.mark.parametrize(
    "source, location, quote",
    [
        (
            "Introduction, paragraph 2: 'Tau spreads along axons.'",
            "Introduction, paragraph 2",
            "Tau spreads along axons.",
        ),
        ("Methods, paragraph 1: “We used 3:1 ratios.”", "Methods, paragraph 1", "We used 3:1 ratios."),
        ("'A quote with no location'", "", "A quote with no location"),
    ],
)
def test_split_source(source, location, quote):
    assert split_source(source) == (location, quote)


def test_normalize_folds_case_whitespace_quotes_and_dashes():
    assert normalize("  The  “Quick”\n brown—fox ") == 'the "quick" brown-fox'


def test_quotes_are_found_verbatim_fuzzily_or_not_at_all(first_raw_record, raw_dir):
    paper = (raw_dir / "papers" / paper_file_name(first_raw_record.paper_id)).read_text(encoding="utf-8")
    result = check_record(first_raw_record, paper)
    by_step = {step.step: step for step in result.steps}
    assert by_step[1].score == 1.0  # differs only in case and spacing
    assert FUZZY_THRESHOLD <= by_step[2].score < 1.0  # one word changed ("places" -> "puts")
    assert by_step[3].score == 1.0  # broken across lines in the paper
    assert not by_step[4].found and by_step[4].score < FUZZY_THRESHOLD  # not in the paper
    assert [step.found for step in result.steps] == [True, True, True, False]
    assert not result.grounded
    assert by_step[2].location == "Section 2, paragraph 1"


def test_a_step_without_grounding_makes_the_record_ungrounded():
    record = TraceRecord(
        "c",
        "a",
        [],
        "s",
        ["one", "two", "three"],
        "h",
        "p",
        grounding=[Grounding(1, "Intro: 'alpha beta'"), Grounding(3, "Intro: 'gamma'")],
    )
    result = check_record(record, "Alpha  beta. Gamma.")
    assert result.ungrounded_steps == [2]
    assert all(step.found for step in result.steps) and not result.grounded
    record.grounding.append(Grounding(2, "Intro: 'beta'"))
    assert check_record(record, "Alpha  beta. Gamma.").grounded


def test_a_paraphrase_is_not_a_quote():
    text = SourceText("Clustering queries and keys by content places related tokens in the same bucket.")
    assert text.score("Grouping similar tokens together lets distant words attend to one another.") < FUZZY_THRESHOLD


def test_summary_and_command_line(raw_dir, tmp_path, capsys):
    report = tmp_path / "grounding.json"
    assert (
        main(
            [
                "--traces",
                str(raw_dir / "all_traces.jsonl"),
                "--papers",
                str(raw_dir / "papers"),
                "--report",
                str(report),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    # Only the first record's paper is in the fixture: its four quotes, three found.
    assert summary == {
        "records": 1,
        "records_grounded": 0,
        "grounding_entries": 4,
        "entries_found": 3,
        "steps_without_grounding": 0,
        "threshold": FUZZY_THRESHOLD,
        "records_without_paper_text": 20,
    }
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["records"][0]["paper_id"] == "arxiv:2401.00001" and written["records"][0]["grounded"] is False
    assert summarize([]) == {
        "records": 0,
        "records_grounded": 0,
        "grounding_entries": 0,
        "entries_found": 0,
        "steps_without_grounding": 0,
        "threshold": FUZZY_THRESHOLD,
    }


def test_command_line_reports_bad_input_in_one_line(tmp_path, capsys):
    bad = tmp_path / "all_traces.jsonl"
    bad.write_text('{"input": ', encoding="utf-8")
    assert main(["--traces", str(bad), "--papers", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {bad}:1:") and "Traceback" not in error
