"""`python -m crosstrace.builders mcq` end to end on small inputs of our own: a CrossTrace-like folder
written from the fixture studies, 20 engine challenges and a WildSci fixture."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import chisquare

from crosstrace.builders import mcq_dataset
from crosstrace.cli import parse_args
from crosstrace.errors import DataError
from crosstrace.hub_folder import read_manifest, verify_checksums
from crosstrace.mcq.record import LETTERS, record_problems


def write_crosstrace_folder(rows, folder):
    (folder / "all").mkdir(parents=True)
    for split in ("train", "validation", "test"):
        table = pa.Table.from_pylist([{**row, "messages": "[]"} for row in rows if row["id"].split("-")[1] == split])
        pq.write_table(table, folder / "all" / f"{split}.parquet")
    return folder


@pytest.fixture(scope="module")
def fixture_rows(fixtures_dir):
    return json.loads((fixtures_dir / "mcq" / "crosstrace_rows.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def crosstrace_folder(fixture_rows, tmp_path_factory):
    return write_crosstrace_folder(fixture_rows, tmp_path_factory.mktemp("crosstrace"))


def build_args(crosstrace_folder, out, *extra):
    argv = ["--crosstrace", str(crosstrace_folder), "--out", str(out), "--engine-n", "20", *extra]
    (args,) = parse_args(mcq_dataset.McqArguments, argv, prog="mcq", description=None)
    return args


@pytest.fixture(scope="module")
def built(crosstrace_folder, fixtures_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("mcq") / "mcq"
    wildsci = fixtures_dir / "mcq" / "wildsci_sample.jsonl"
    mcq_dataset.build(build_args(crosstrace_folder, out, "--wildsci", str(wildsci), "--audit-embedding-sample", "6"))
    return out


def rows_of(folder, config, split):
    return pq.read_table(folder / config / f"{split}.parquet").to_pylist()


def test_folder_layout_manifest_and_card(built):
    manifest = read_manifest(built)
    assert manifest["counts"]["crosstrace_hypothesis"] == {"train": 12 + 12, "validation": 11 + 9, "test": 10 + 10}
    assert set(manifest["counts"]["engine_facts"]) == {"train", "validation", "test"}
    assert manifest["counts"]["wildsci"] == {"train": 4}
    assert verify_checksums(built) == []
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "config_name: crosstrace_hypothesis" in card and "default: true" in card
    assert "| crosstrace_hypothesis | 64 |" in card  # the audit table
    assert "| `engine_facts` | Physics | Physical sciences | Physics |" in card  # counts per discipline
    assert "Why the votes are null" in card and "TODO" not in card
    assert manifest["audit"]["by_config"]["engine_facts"]["n"]["embedding"] == 6


def test_every_config_loads_with_datasets_and_holds_valid_records(built):
    from datasets import load_dataset

    for config in ("crosstrace_hypothesis", "engine_facts", "wildsci"):
        dataset = load_dataset(str(built), config)
        for split in dataset.values():
            assert split.features["options"].keys() == set(LETTERS)
            for record in split:
                assert record_problems(record) == []


def test_test_questions_use_test_studies_only(built, fixture_rows):
    by_split = {
        split: [r for r in fixture_rows if r["id"].split("-")[1] == split] for split in ("train", "validation", "test")
    }
    for split, rows in by_split.items():
        own_texts = {r["hypothesis"] for r in rows} | {r["field_context"] for r in rows}
        other_texts = {
            t
            for other, other_rows in by_split.items()
            if other != split
            for r in other_rows
            for t in (r["hypothesis"], r["field_context"])
        }
        for record in rows_of(built, "crosstrace_hypothesis", split):
            contexts = set(re.findall(r"^Field context: (.*)$", record["question"], flags=re.MULTILINE))
            assert contexts <= own_texts
            if record["source"].endswith("hypothesis_matching"):
                assert set(record["options"].values()) <= own_texts
            assert not any(text in record["question"] for text in other_texts)


def test_answer_letters_are_spread_evenly(built):
    for config in ("crosstrace_hypothesis", "engine_facts"):
        for split in ("train", "validation", "test"):
            answers = [r["answer"] for r in rows_of(built, config, split)]
            counts = [answers.count(letter) for letter in LETTERS]
            assert max(counts) - min(counts) <= 1
            if len(answers) >= 20:
                assert chisquare(counts).pvalue > 0.5


def test_rebuild_is_byte_identical(built, crosstrace_folder, fixtures_dir, tmp_path):
    again = tmp_path / "mcq"
    wildsci = fixtures_dir / "mcq" / "wildsci_sample.jsonl"
    mcq_dataset.build(build_args(crosstrace_folder, again, "--wildsci", str(wildsci), "--audit-embedding-sample", "6"))
    files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for relative in files:
        assert (built / relative).read_bytes() == (again / relative).read_bytes(), relative


def test_bad_rows_are_skipped_and_reported(fixture_rows, tmp_path):
    rows = [dict(row) for row in fixture_rows]
    rows[0]["hypothesis"] = "  "
    rows[1]["domain"] = "alchemy"
    folder = write_crosstrace_folder(rows, tmp_path / "crosstrace")
    with pytest.raises(DataError, match=r"train\.parquet:1: field 'hypothesis'"):
        mcq_dataset.build(build_args(folder, tmp_path / "out", "--engine-n", "0", "--audit-embedding-sample", "0"))
    manifest = mcq_dataset.build(
        build_args(folder, tmp_path / "out", "--engine-n", "0", "--audit-embedding-sample", "0", "--on-error", "skip")
    )
    assert [(s["line"], s["field"]) for s in manifest["skipped"]] == [(1, "hypothesis"), (2, "domain")]
    assert "engine_facts" not in manifest["counts"]


def test_a_missing_crosstrace_folder_says_how_to_build_it(tmp_path):
    with pytest.raises(DataError, match=r"python -m crosstrace\.builders crosstrace"):
        mcq_dataset.build(build_args(tmp_path / "nowhere", tmp_path / "out"))


def test_command_line_reports_bad_input_without_a_traceback(tmp_path, capsys):
    from crosstrace.builders.__main__ import main

    with pytest.raises(SystemExit) as help_exit:
        main(["mcq", "--help"])
    assert help_exit.value.code == 0 and "--engine-n" in capsys.readouterr().out
    assert main(["mcq", "--crosstrace", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error


@pytest.mark.slow
@pytest.mark.shared_data
def test_release_build_keeps_splits_apart_and_baselines_blind(crosstrace_release, tmp_path):
    """The whole pipeline on the real CrossTrace release: CrossTrace folder, then questions."""
    from crosstrace.builders.__main__ import main
    from crosstrace.mcq import audit

    assert main(["crosstrace", "--source", str(crosstrace_release), "--out", str(tmp_path / "crosstrace")]) == 0
    manifest = mcq_dataset.build(
        build_args(tmp_path / "crosstrace", tmp_path / "mcq", "--engine-n", "0", "--audit-embedding-sample", "0")
    )
    counts = manifest["counts"]["crosstrace_hypothesis"]
    assert sum(counts.values()) >= 1389 + 50  # one hypothesis question per record, plus the ordering ones
    source_rows = {
        split: pq.read_table(tmp_path / "crosstrace" / "all" / f"{split}.parquet").to_pylist()
        for split in ("train", "validation", "test")
    }
    source_rows["test"] += pq.read_table(tmp_path / "crosstrace" / "hypogen" / "test.parquet").to_pylist()
    hypotheses = {split: {row["hypothesis"] for row in rows} for split, rows in source_rows.items()}
    for split in ("train", "validation", "test"):
        records = rows_of(tmp_path / "mcq", "crosstrace_hypothesis", split)
        for record in records:
            assert record_problems(record) == []
            if record["source"].endswith("hypothesis_matching"):
                assert set(record["options"].values()) <= hypotheses[split]
        overall, _ = audit.audit_baselines(records, None)
        assert overall.passes(), (split, overall.accuracy)


def fake_embed(texts):
    import zlib

    import numpy as np

    vectors = np.stack([np.random.default_rng(zlib.crc32(text.encode())).normal(size=8) for text in texts])
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_a_saved_full_audit_goes_into_the_card_only_for_the_same_questions(
    built, crosstrace_folder, fixtures_dir, tmp_path
):
    from crosstrace.mcq import audit

    configs = {
        config: [
            r
            for split in ("train", "validation", "test")
            if (built / config / f"{split}.parquet").is_file()
            for r in rows_of(built, config, split)
        ]
        for config in ("crosstrace_hypothesis", "engine_facts", "wildsci")
    }
    report = audit.audit_configs(configs, fake_embed)
    report.save(tmp_path / "audit.json")
    wildsci = str(fixtures_dir / "mcq" / "wildsci_sample.jsonl")
    manifest = mcq_dataset.build(
        build_args(
            crosstrace_folder,
            tmp_path / "with-audit",
            "--wildsci",
            wildsci,
            "--audit-results",
            str(tmp_path / "audit.json"),
        )
    )
    assert manifest["audit"]["from_file"] == "audit.json" and manifest["audit"]["embedding_sample"] is None
    assert manifest["audit"]["by_config"]["engine_facts"]["n"]["embedding"] == len(configs["engine_facts"])
    assert "Every question is scored" in (tmp_path / "with-audit" / "README.md").read_text(encoding="utf-8")
    # Other questions (another seed) do not match the saved audit.
    with pytest.raises(DataError, match="other questions"):
        mcq_dataset.build(
            build_args(
                crosstrace_folder,
                tmp_path / "other",
                "--wildsci",
                wildsci,
                "--seed",
                "1",
                "--audit-results",
                str(tmp_path / "audit.json"),
            )
        )
