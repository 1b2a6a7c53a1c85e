"""Readers for the CrossTrace release, upstream raw records and HypoGen rows: fixtures, bad input, the release."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.schema import PriorWork
from crosstrace.sources.crosstrace_raw import read_raw_file
from crosstrace.sources.crosstrace_release import HYPOGEN_TEST_FILE, RELEASE_FILES, read_chat_file, read_release
from crosstrace.sources.hypogen import read_rows, record_from_row


@pytest.fixture
def fixture_release(fixtures_dir) -> Path:
    return fixtures_dir / "crosstrace" / "release"


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_release_reader_reads_splits_metadata_and_system_prompt(fixture_release):
    release = read_release(fixture_release, ErrorPolicy())
    assert {split: len(items) for split, items in release.splits.items()} == {"train": 9, "validation": 3, "test": 9}
    assert len(release.hypogen_test) == 2
    assert release.split_settings["train_pct"] == 0.5
    assert all(item.record.domain is None for item in release.splits["train"])
    first_test = release.splits["test"][0]
    raw = json.loads(lines(fixture_release / RELEASE_FILES["test"])[0])
    assert first_test.line == 1
    assert first_test.record.domain == raw["metadata"]["domain"]
    assert first_test.record.paper_id == raw["metadata"]["paper_id"]
    assert first_test.record.extraction_confidence == raw["metadata"]["extraction_confidence"]
    assert first_test.record.to_messages() == raw["messages"]
    hypogen = release.hypogen_test[0].record
    assert (hypogen.source, hypogen.domain, hypogen.paper_id, hypogen.approach) == ("hypogen", "cs_ml", None, None)


def test_record_without_key_prior_work_reads_and_renders_back(fixture_release):
    records = [
        item.record for item in read_chat_file(fixture_release / RELEASE_FILES["train"], "crosstrace", ErrorPolicy())
    ]
    without = [record for record in records if not record.key_prior_work]
    assert len(without) == 1
    assert "Key prior work" not in without[0].to_messages()[1]["content"]


def _break_line(path: Path, target: Path, line: int, change) -> Path:
    """Copy `path` to `target` with line `line` (1-based) replaced by change(original line)."""
    content = path.read_bytes().split(b"\n")
    content[line - 1] = change(content[line - 1])
    target.write_bytes(b"\n".join(content))
    return target


def _edit_json(edit):
    def change(raw: bytes) -> bytes:
        obj = json.loads(raw)
        edit(obj)
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    return change


BAD_LINES = {
    "truncated JSON": (lambda raw: raw[: len(raw) // 2], None, "not valid JSON"),
    "not UTF-8": (lambda raw: raw[:40] + b"\xff\xfe" + raw[40:], None, "not valid UTF-8"),
    "missing field": (_edit_json(lambda obj: obj.pop("messages")), "messages", "missing"),
    "wrong type": (
        _edit_json(lambda obj: obj["metadata"].update(extraction_confidence="high")),
        "metadata.extraction_confidence",
        "expected",
    ),
    "wrong message roles": (_edit_json(lambda obj: obj["messages"].reverse()), "messages", "roles"),
    "content not a string": (
        _edit_json(lambda obj: obj["messages"][2].update(content=["x"])),
        "messages[2].content",
        "expected a string",
    ),
    "pattern not a string": (
        _edit_json(lambda obj: obj["metadata"]["patterns"].append(3)),
        "metadata.patterns[2]",
        "expected str",
    ),
}


@pytest.mark.parametrize("case", BAD_LINES)
def test_bad_line_names_file_line_and_field(case, fixture_release, tmp_path):
    change, field, reason = BAD_LINES[case]
    broken = _break_line(fixture_release / RELEASE_FILES["test"], tmp_path / "test_ours.jsonl", 4, change)
    with pytest.raises(DataError) as raised:
        read_chat_file(broken, "crosstrace", ErrorPolicy())
    assert (raised.value.path, raised.value.line, raised.value.field) == (str(broken), 4, field)
    assert reason in raised.value.reason
    assert "test_ours.jsonl:4:" in str(raised.value)


def test_skip_policy_keeps_the_good_lines_and_records_the_bad(fixture_release, tmp_path):
    broken = _break_line(
        fixture_release / RELEASE_FILES["test"], tmp_path / "test_ours.jsonl", 2, BAD_LINES["missing field"][0]
    )
    broken = _break_line(broken, broken, 5, BAD_LINES["truncated JSON"][0])
    policy = ErrorPolicy("skip")
    records = read_chat_file(broken, "crosstrace", policy)
    assert [item.line for item in records] == [1, 3, 4, 6, 7, 8, 9]
    assert [(s["line"], s["field"]) for s in policy.report()] == [(2, "messages"), (5, None)]


def test_metadata_source_must_match_the_file_layout(fixture_release, tmp_path):
    broken = _break_line(
        fixture_release / HYPOGEN_TEST_FILE,
        tmp_path / HYPOGEN_TEST_FILE,
        1,
        _edit_json(lambda obj: obj["metadata"].update(source="ours")),
    )
    with pytest.raises(DataError, match=r"metadata\.source"):
        read_chat_file(broken, "hypogen", ErrorPolicy())


def test_missing_release_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_release(tmp_path, ErrorPolicy())


# ----------------------------------------------------------------------------- raw records


def test_raw_reader_keeps_grounding_dois_and_domains(fixtures_dir):
    records = read_raw_file(fixtures_dir / "crosstrace" / "raw" / "all_traces.jsonl", ErrorPolicy())
    assert len(records) == 21
    assert Counter(item.record.domain for item in records) == {"ai_ml": 7, "biomedical": 7, "cross_domain": 7}
    first = records[0].record
    # The second grounding entry names its step by the step's text (in capitals): it maps to step 2.
    assert [g.step for g in first.grounding] == [1, 2, 3, 4]
    assert first.grounding_for(3)[0].source.startswith("Section 3, paragraph 1: '")
    assert first.key_prior_work[0] == PriorWork("Child et al. 2019", "10.0000/ref.0.0")
    assert first.key_prior_work[1] == PriorWork("Beltagy et al. 2020", None)
    assert first.to_messages()[-1]["content"].startswith("Core insight: Learned routing")


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda obj: obj["grounding"][0].update(step=9), "grounding[0].step"),
        (lambda obj: obj["grounding"][0].update(step="a step nobody wrote"), "grounding[0].step"),
        (lambda obj: obj["grounding"][1].pop("source"), "grounding[1].source"),
        (lambda obj: obj.update(trace="one long step"), "trace"),
        (lambda obj: obj["trace"].__setitem__(1, 42), "trace[1]"),
        (lambda obj: obj["input"]["key_prior_work"].__setitem__(0, {"doi": "10.1/x"}), "input.key_prior_work[0].ref"),
        (lambda obj: obj["output"].pop("approach"), "output.approach"),
        (lambda obj: obj["output"].update(hypothesis="two\nlines"), "hypothesis"),
        (lambda obj: obj["metadata"].update(explicitness=1.5), "metadata.explicitness"),
    ],
)
def test_bad_raw_record_names_the_field(edit, field, fixtures_dir, tmp_path):
    broken = _break_line(
        fixtures_dir / "crosstrace" / "raw" / "all_traces.jsonl", tmp_path / "all_traces.jsonl", 3, _edit_json(edit)
    )
    with pytest.raises(DataError) as raised:
        read_raw_file(broken, ErrorPolicy())
    assert (raised.value.line, raised.value.field) == (3, field)


# ----------------------------------------------------------------------------- HypoGen rows


def test_hypogen_rows_convert_to_the_released_layout(fixtures_dir):
    expected = [
        json.loads(line)["messages"] for line in lines(fixtures_dir / "crosstrace" / "release" / HYPOGEN_TEST_FILE)
    ]
    records = read_rows(
        fixtures_dir / "crosstrace" / "hypogen" / "rows.jsonl", ErrorPolicy(), system_prompt=expected[0][0]["content"]
    )
    # Rows carry padding and a line break inside the reasoning; the conversion cleans both.
    assert [item.record.to_messages() for item in records] == expected
    assert all(item.record.extraction_confidence == 1.0 and item.record.patterns == [] for item in records)


def test_hypogen_rows_read_from_parquet_with_row_numbers(fixtures_dir, tmp_path):
    rows = [json.loads(line) for line in lines(fixtures_dir / "crosstrace" / "hypogen" / "rows.jsonl")]
    rows[1].pop("flip")
    rows[1]["flip"] = None
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test.parquet")
    policy = ErrorPolicy("skip")
    records = read_rows(tmp_path / "test.parquet", policy)
    assert len(records) == 1
    assert policy.report() == [
        {
            "path": str(tmp_path / "test.parquet"),
            "line": 2,
            "field": "flip",
            "reason": "expected str, got NoneType null",
        }
    ]


def test_hypogen_row_without_title_is_an_error():
    row = {"bit": "b", "flip": "f", "spark": "s", "chain_of_reasoning": "c", "abstract": "a"}
    with pytest.raises(ValueError, match="title"):
        record_from_row(row)


# ----------------------------------------------------------------------------- the public release


@pytest.mark.shared_data
def test_release_counts_and_test_domains(crosstrace_release):
    release = read_release(crosstrace_release, ErrorPolicy())
    assert {split: len(items) for split, items in release.splits.items()} == {
        "train": 1180,
        "validation": 102,
        "test": 107,
    }
    assert len(release.hypogen_test) == 50
    assert Counter(item.record.domain for item in release.splits["test"]) == {
        "ai_ml": 46,
        "biomedical": 40,
        "cross_domain": 21,
    }
    assert Counter(len(item.record.steps) for split in release.splits.values() for item in split) == {
        3: 47,
        4: 547,
        5: 779,
        6: 16,
    }
    assert release.split_settings["seed"] == 42
    assert all(item.record.paper_id for item in release.splits["test"])
    # The chat release carries no grounding; raw records do (see the raw reader tests).
    assert {len(item.record.grounding) for split in release.splits.values() for item in split} == {0}
