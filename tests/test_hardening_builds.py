"""Dataset builders and publishing under a demanding user: an output folder replaced as a whole never
overlaps an input, `--on-error skip` is honoured, and an input with nothing usable is a clear error."""

from __future__ import annotations

import json
import shutil

import pytest

from crosstrace.builders.__main__ import main as build_main
from crosstrace.publish import results_dataset


def _assert_refused(capsys, rc, flag, kept):
    err = capsys.readouterr().err
    assert rc == 2 and flag in err and "Traceback" not in err, err
    assert kept.exists()  # the input is still there


@pytest.mark.parametrize("where", ["same", "out-inside-input", "input-inside-out"])
def test_crosstrace_build_refuses_an_output_overlapping_its_source(tmp_path, capsys, fixtures_dir, where):
    source = tmp_path / "release"
    shutil.copytree(fixtures_dir / "crosstrace" / "release", source)
    out = {"same": source, "out-inside-input": source / "built", "input-inside-out": tmp_path}[where]
    rc = build_main(["crosstrace", "--source", str(source), "--out", str(out)])
    _assert_refused(capsys, rc, "--source", source / "test_ours.jsonl")


def test_mcq_and_dacr_builds_refuse_an_output_overlapping_an_input(tmp_path, capsys):
    folder = tmp_path / "crosstrace"
    folder.mkdir()
    rc = build_main(["mcq", "--crosstrace", str(folder), "--out", str(folder), "--engine-n", "0"])
    _assert_refused(capsys, rc, "--crosstrace", folder)
    upstream = tmp_path / "out" / "upstream.jsonl"
    upstream.parent.mkdir()
    upstream.write_text("{}\n")
    rc = build_main(["dacr-traces", "--n", "4", "--upstream", str(upstream), "--out", str(tmp_path / "out")])
    _assert_refused(capsys, rc, "--upstream", upstream)


def test_results_dataset_and_stage_dir_refuse_an_output_overlapping_an_input(tmp_path, capsys):
    from crosstrace.publish.release import UploadArguments
    from crosstrace.publish.release import main as upload_main

    results = tmp_path / "results"
    results.mkdir()
    (results / "keep.txt").write_text("x")
    assert results_dataset.main(["--results", str(results), "--out", str(results)]) == 2
    _assert_refused(capsys, 2, "--results", results / "keep.txt")
    args = UploadArguments(hub_org="org", stage_dir=str(results / "stage"), results_dir=str(results))
    rc = upload_main("results", args)
    _assert_refused(capsys, rc, "--results-dir", results / "keep.txt")


def test_mcq_build_with_no_usable_wildsci_record_is_a_clear_error(tmp_path, capsys):
    wildsci = tmp_path / "wildsci.jsonl"
    wildsci.write_text(json.dumps({"question": "q", "options": {"A": "x"}, "answer": "A"}) + "\n")
    argv = ["mcq", "--wildsci", str(wildsci), "--crosstrace", str(tmp_path / "absent"), "--out", str(tmp_path / "o")]
    rc = build_main([*argv, "--on-error", "skip", "--engine-n", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and f"{wildsci}: no usable WildSci question (1 bad record(s) skipped)" in err, err
    assert "pass --on-error skip" not in err  # it was passed


def test_unknown_domain_is_skipped_and_counted_under_on_error_skip(tmp_path, capsys, fixtures_dir):
    source = tmp_path / "release"
    shutil.copytree(fixtures_dir / "crosstrace" / "release", source)
    test_file = source / "test_ours.jsonl"
    text = test_file.read_text()
    test_file.write_text(text.replace('"domain": "ai_ml"', '"domain": "astrology"', 1))
    out = tmp_path / "out"
    assert build_main(["crosstrace", "--source", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "astrology" in err and "pass --on-error skip" in err
    assert build_main(["crosstrace", "--source", str(source), "--out", str(out), "--on-error", "skip"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["field"] for s in manifest["skipped"]] == ["metadata.domain"]


@pytest.fixture(scope="module")
def fixture_crosstrace_build(tmp_path_factory, fixtures_dir):
    """The CrossTrace folder built from the project's fixture records: the MCQ build's input."""
    out = tmp_path_factory.mktemp("crosstrace-build") / "crosstrace"
    assert build_main(["crosstrace", "--source", str(fixtures_dir / "crosstrace" / "release"), "--out", str(out)]) == 0
    return out


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("build", ["crosstrace", "mcq", "dacr-traces"])
def test_a_build_killed_while_writing_reruns_to_the_uninterrupted_folder(build, tmp_path, request, fixtures_dir):
    """Each dataset build: kill -9 in the middle of writing its parquet files (a real SIGKILL), then
    the same command again gives the folder of an uninterrupted build, byte for byte."""
    import os
    import sys

    from process_group import run_or_fail

    from crosstrace.paths import REPO_ROOT

    if build == "crosstrace":
        args = ["crosstrace", "--source", str(fixtures_dir / "crosstrace" / "release")]
    elif build == "mcq":
        args = ["mcq", "--crosstrace", str(request.getfixturevalue("fixture_crosstrace_build")), "--engine-n", "4"]
    else:
        args = ["dacr-traces", "--n", "4"]
    assert build_main([*args, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "tests/kill_inside.py", "pyarrow.parquet:write_table", "2", "-m", "crosstrace.builders"]
    killed = run_or_fail(
        [*command, *args, "--out", str(out)], REPO_ROOT, env, 300, f"{build} build killed in its write"
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not out.exists() and (tmp_path / "killed.partial").is_dir()  # nothing half-written under --out
    assert build_main([*args, "--out", str(out)]) == 0
    assert _files(out) == _files(tmp_path / "whole") and not (tmp_path / "killed.partial").exists()
