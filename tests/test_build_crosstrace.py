"""The `crosstrace` builder: hub-ready folder, load_dataset of every config, determinism, checks, bad input."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from crosstrace.builders.__main__ import main as build_main
from crosstrace.builders.crosstrace_dataset import COLUMNS, BuildOptions, build
from crosstrace.errors import DataError
from crosstrace.hub_folder import verify_checksums

FIXTURE_TOTALS = {"ai_ml": 7, "biomedical": 7, "cross_domain": 7}
FIXTURE_COUNTS = {"train": 9, "validation": 3, "test": 9}


@pytest.fixture
def release_copy(fixtures_dir, tmp_path) -> Path:
    """A writable copy of the fixture release (tests break lines in it)."""
    return Path(shutil.copytree(fixtures_dir / "crosstrace" / "release", tmp_path / "source"))


def build_fixture(source: Path | str, out: Path, **options) -> dict:
    return build(BuildOptions(str(source), out, domain_totals=FIXTURE_TOTALS, **options))


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory, request) -> tuple[Path, dict]:
    fixtures = Path(request.config.rootpath) / "tests" / "fixtures" / "crosstrace" / "release"
    out = tmp_path_factory.mktemp("build") / "crosstrace"
    return out, build_fixture(fixtures, out)


def test_folder_layout_counts_and_manifest(fixture_build, fixtures_dir):
    out, manifest = fixture_build
    assert manifest["counts"]["all"] == FIXTURE_COUNTS
    assert manifest["counts"]["hypogen"] == {"test": 2}
    assert sum(manifest["counts"][d]["train"] for d in FIXTURE_TOTALS) == 9
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        ["README.md", "manifest.json", "hypogen/test.parquet"]
        + [f"{c}/{s}.parquet" for c in ("all", *FIXTURE_TOTALS) for s in FIXTURE_COUNTS]
    )
    assert verify_checksums(out) == []
    release = fixtures_dir / "crosstrace" / "release"
    assert (
        manifest["source"]["files"]["test_ours.jsonl"]
        == hashlib.sha256((release / "test_ours.jsonl").read_bytes()).hexdigest()
    )
    assert manifest["skipped"] == [] and manifest["seed"] == 42
    assert {name: check["passed"] for name, check in manifest["checks"].items()} == {
        "duplicates": True,
        "compliance": True,
        "leakage": True,
    }


def test_inferred_domains_meet_the_split_counts(fixture_build):
    out, manifest = fixture_build
    train = pq.read_table(out / "all" / "train.parquet").to_pylist()
    # Fixture split fractions 0.5 / 0.15 of 7 per domain: 3 train, 1 validation, 3 test each.
    assert Counter(row["domain"] for row in train) == {"ai_ml": 3, "biomedical": 3, "cross_domain": 3}
    assert {row["domain_source"] for row in train} == {"inferred"}
    assert all(0 < row["domain_confidence"] <= 1 for row in train)
    test = pq.read_table(out / "all" / "test.parquet").to_pylist()
    assert {(row["domain_source"], row["domain_confidence"]) for row in test} == {("released", 1.0)}
    labels = manifest["domain_labels"]
    assert labels["inferred"] and labels["labelled_counts_match_test_split"]
    assert labels["cross_validation"]["folds"] == 3 and labels["cross_validation"]["n"] == 9


def test_every_config_loads_offline_with_the_same_columns(fixture_build, tmp_path):
    out, manifest = fixture_build
    for config, splits in manifest["counts"].items():
        dataset = load_dataset(str(out), config, cache_dir=str(tmp_path / "cache"))
        assert {split: dataset[split].num_rows for split in dataset} == splits
        for split in dataset:
            assert dataset[split].column_names == [name for name, _, _ in COLUMNS]
    row = load_dataset(str(out), "hypogen", cache_dir=str(tmp_path / "cache"))["test"][0]
    assert row["approach"] is None and row["source"] == "hypogen" and len(row["steps"]) == 1


def test_rows_render_back_to_their_messages(fixture_build, fixtures_dir):
    out, _ = fixture_build
    released = [
        json.loads(line)["messages"]
        for line in (fixtures_dir / "crosstrace" / "release" / "val.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    rows = pq.read_table(out / "all" / "validation.parquet").to_pylist()
    assert [row["messages"] for row in rows] == released
    assert len({row["id"] for row in rows}) == len(rows) and all(len(row["id"]) == 16 for row in rows)


def test_card_is_complete(fixture_build):
    out, manifest = fixture_build
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "license: cc-by-4.0" in card and "config_name: hypogen" in card
    for column, _, _ in COLUMNS:
        assert f"| `{column}` |" in card
    cv = manifest["domain_labels"]["cross_validation"]
    assert f"**{100 * cv['accuracy']:.1f}%**" in card
    for heading in (
        "Configs and splits",
        "Domain labels",
        "Discovery patterns",
        "Build checks",
        "Build parameters",
        "Known limitations",
        "Citation",
    ):
        assert f"## {heading}" in card
    assert "| `gap_fill` |" in card and manifest["source"]["files"]["val.jsonl"] in card


def test_two_builds_are_byte_identical(fixture_build, fixtures_dir, tmp_path):
    first, _ = fixture_build
    second = tmp_path / "again"
    build_fixture(fixtures_dir / "crosstrace" / "release", second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


# ----------------------------------------------------------------------------- checks and bad input


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def test_checks_report_duplicates_leakage_and_non_compliance(release_copy, tmp_path):
    test_lines = (release_copy / "test_ours.jsonl").read_text(encoding="utf-8").splitlines()
    # A test record copied into train: identical across splits, and the same paper in two splits.
    _append_line(
        release_copy / "train_ours_only.jsonl",
        json.dumps({"messages": json.loads(test_lines[0])["messages"]}, ensure_ascii=False),
    )
    # A validation record cut to two steps: fails compliance.
    short = json.loads((release_copy / "val.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assistant = short["messages"][2]["content"]
    head, _, tail = assistant.partition("\n\nHypothesis:")
    short["messages"][2]["content"] = "\n".join(head.split("\n")[:5]) + "\n\nHypothesis:" + tail  # through step 2
    short["messages"][1]["content"] += " (shortened)"
    _append_line(release_copy / "val.jsonl", json.dumps(short, ensure_ascii=False))
    totals = {"ai_ml": 8, "biomedical": 8, "cross_domain": 7}  # one more train and validation record
    manifest = build(BuildOptions(str(release_copy), tmp_path / "out", domain_totals=totals))
    checks = manifest["checks"]
    assert (
        not checks["duplicates"]["passed"]
        and checks["duplicates"]["findings"][0]["reason"] == "identical record across splits"
    )
    assert checks["duplicates"]["findings"][0]["records"] == [
        "train/train_ours_only.jsonl:10",
        "test/test_ours.jsonl:1",
    ]
    assert not checks["leakage"]["passed"] and "same field context" in checks["leakage"]["findings"][0]["reason"]
    assert checks["compliance"]["count"] == 1
    assert checks["compliance"]["findings"][0] == {"reason": "too_few_steps:2", "records": ["validation/val.jsonl:4"]}
    assert "| compliance | FAILED | 1 |" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")


def test_bad_line_stops_the_build_with_file_line_and_field(release_copy, tmp_path, capsys):
    lines = (release_copy / "val.jsonl").read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["messages"][1]["role"] = "assistant"
    lines[1] = json.dumps(broken)
    (release_copy / "val.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [
        "crosstrace",
        "--source",
        str(release_copy),
        "--out",
        str(tmp_path / "out"),
        "--domain-totals",
        "ai_ml=7,biomedical=7,cross_domain=7",
    ]
    assert build_main(argv) == 2
    error = capsys.readouterr().err.splitlines()
    assert error[0].startswith(f"error: {release_copy / 'val.jsonl'}:2: field 'messages': expected roles")
    assert "Traceback" not in "\n".join(error)
    assert not (tmp_path / "out").exists()


def test_skip_policy_reports_every_skipped_line(release_copy, tmp_path):
    lines = (release_copy / "train_ours_only.jsonl").read_bytes().split(b"\n")
    lines[2] = lines[2][:100]
    lines[5] = b'{"messages": "not a list"}'
    (release_copy / "train_ours_only.jsonl").write_bytes(b"\n".join(lines))
    manifest = build_fixture(release_copy, tmp_path / "out", on_error="skip")
    assert manifest["counts"]["all"] == {"train": 7, "validation": 3, "test": 9}
    assert [(s["line"], s["field"]) for s in manifest["skipped"]] == [(3, None), (6, "messages")]
    assert manifest["skipped_count"] == 2 and "truncated" in manifest["skipped"][0]["reason"]
    # The train split lost two records, so its domain counts were scaled to 7.
    assert manifest["domain_labels"]["targets_adjusted_for_skipped"]
    assert sum(manifest["counts"][d]["train"] for d in FIXTURE_TOTALS) == 7


def _rewrite_test_file(folder: Path, edit) -> None:
    path = folder / "test_ours.jsonl"
    objects = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps(edit(obj), ensure_ascii=False) + "\n" for obj in objects), encoding="utf-8")


def test_unknown_or_absent_released_domains_are_data_errors(release_copy, tmp_path):
    _rewrite_test_file(release_copy, lambda obj: {**obj, "metadata": {**obj["metadata"], "domain": "physics"}})
    with pytest.raises(DataError, match=r"test_ours\.jsonl:1: field 'metadata\.domain': 'physics' is not one of"):
        build_fixture(release_copy, tmp_path / "out")
    _rewrite_test_file(release_copy, lambda obj: {"messages": obj["messages"]})
    with pytest.raises(DataError, match="no record has a released domain"):
        build_fixture(release_copy, tmp_path / "out")


def test_missing_source_is_a_one_line_error(tmp_path, capsys):
    assert build_main(["crosstrace", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(DataError, match="could not download"):
        build_fixture("hf://datasets/nobody/no-such-dataset", tmp_path / "out")


# ----------------------------------------------------------------------------- other sources


def test_raw_records_take_priority_and_keep_grounding(release_copy, fixtures_dir, tmp_path):
    shutil.copy(fixtures_dir / "crosstrace" / "raw" / "all_traces.jsonl", release_copy / "all_traces.jsonl")
    manifest = build_fixture(release_copy, tmp_path / "out")
    assert manifest["counts"]["all"] == FIXTURE_COUNTS
    assert manifest["domain_labels"] == {"inferred": False, "reason": "every record has a released domain"}
    assert (
        "all_traces.jsonl" in manifest["source"]["files"] and "release's splits" in manifest["source"]["description"]
    )
    rows = pq.read_table(tmp_path / "out" / "all" / "train.parquet").to_pylist()
    assert {row["domain_source"] for row in rows} == {"released"}
    assert all(row["grounding"] for row in rows) and all(row["paper_id"] for row in rows)
    # Split membership comes from the chat files: the same validation records as the release.
    released_val = pq.read_table(tmp_path / "out" / "all" / "validation.parquet").column("spark").to_pylist()
    chat_val = [
        json.loads(line)["messages"][2]["content"].split("\n")[0][len("Core insight: ") :]
        for line in (release_copy / "val.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(released_val) == sorted(chat_val)
    assert "Every record's domain is **released**" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")


def test_raw_records_alone_are_split_by_seed(fixtures_dir, tmp_path):
    source = tmp_path / "raw-only"
    source.mkdir()
    shutil.copy(fixtures_dir / "crosstrace" / "raw" / "all_traces.jsonl", source)
    first = build_fixture(source, tmp_path / "a", seed=1)
    again = build_fixture(source, tmp_path / "b", seed=1)
    other = build_fixture(source, tmp_path / "c", seed=2)
    # Default fractions 0.85 / 0.075 of 7 per domain: 5 train, 0 validation, 2 test each.
    assert first["counts"]["all"] == {"train": 15, "validation": 0, "test": 6}
    assert first["files"] == again["files"]
    assert first["files"]["all/test.parquet"] != other["files"]["all/test.parquet"]


def test_source_can_be_an_http_url(fixtures_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSTRACE_CACHE", str(tmp_path / "cache"))
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(fixtures_dir / "crosstrace" / "release")
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        manifest = build_fixture(url, tmp_path / "out")
    finally:
        server.shutdown()
    assert manifest["counts"]["all"] == FIXTURE_COUNTS and manifest["source"]["given"] == url
    # all_traces.jsonl is absent there (404) and simply not used.
    assert "all_traces.jsonl" not in manifest["source"]["files"]


# ----------------------------------------------------------------------------- the public release


@pytest.fixture(scope="module")
def release_build(tmp_path_factory, crosstrace_release) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("release") / "crosstrace"
    return out, build(BuildOptions(str(crosstrace_release), out))


@pytest.mark.slow
@pytest.mark.shared_data
def test_release_build_loads_with_the_published_counts(release_build, tmp_path):
    out, manifest = release_build
    expected = {
        "all": {"train": 1180, "validation": 102, "test": 107},
        "ai_ml": {"train": 514, "validation": 45, "test": 46},
        "biomedical": {"train": 440, "validation": 38, "test": 40},
        "cross_domain": {"train": 226, "validation": 19, "test": 21},
        "hypogen": {"test": 50},
    }
    assert manifest["counts"] == expected
    for config, splits in expected.items():
        dataset = load_dataset(str(out), config, cache_dir=str(tmp_path / "cache"))
        assert {split: dataset[split].num_rows for split in dataset} == splits
    assert all(check["passed"] for check in manifest["checks"].values()), manifest["checks"]
    assert manifest["skipped_count"] == 0
    cv = manifest["domain_labels"]["cross_validation"]
    assert cv["n"] == 107 and cv["accuracy"] >= 0.80 and cv["accuracy_constrained"] >= 0.80
