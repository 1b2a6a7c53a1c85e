"""The dacr-traces builder: hub-ready folder, splits from disjoint seeds, benchmark file, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import load_dataset

from crosstrace.builders import dacr_traces
from crosstrace.engine import HELDOUT_DOMAINS, verify_challenge
from crosstrace.hub_folder import read_manifest, verify_checksums
from crosstrace.sources.dacr_bench import load_benchmark

N = 24


def _args(out: Path, **overrides) -> dacr_traces.DacrTracesArguments:
    return dacr_traces.DacrTracesArguments(n=N, seed=3, out=out, **overrides)


@pytest.fixture(scope="module")
def built(tmp_path_factory, fixtures_dir) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dacr_traces")
    out, bench = root / "folder", root / "bench.json"
    assert (
        dacr_traces.run(_args(out, benchmark=bench, upstream=fixtures_dir / "dacr" / "tuning", on_error="skip")) == 0
    )
    return out, bench


def test_folder_layout_manifest_and_card(built):
    out, _ = built
    manifest = read_manifest(out)
    assert manifest["counts"]["engine"] == {"train": 21, "validation": 1, "test": 1, "test_heldout_domains": 1}
    assert manifest["counts"]["upstream"] == {"train": 2, "test": 1}
    assert verify_checksums(out) == []
    stats = manifest["engine_stats"]
    assert stats["challenges"] == N and "rejected_attempts" in stats and "rejection_reasons" in stats
    assert manifest["shortcut_audit"][0]["heuristic"] == "first mentioned of the two conflicting values"
    assert {s["line"] for s in manifest["skipped"]} == {4, 5}
    card = (out / "README.md").read_text()
    assert "## Shortcut audit" in card and "| first mentioned of the two conflicting values | trap |" in card
    assert "config_name: engine" in card and "default: true" in card


def test_splits_come_from_disjoint_seed_ranges_and_heldout_domains(built):
    out, _ = built
    engine = load_dataset(str(out), "engine")
    seeds = {split: set(engine[split]["seed"]) for split in engine}
    splits = list(seeds)
    assert all(not seeds[a] & seeds[b] for a in splits for b in splits if a < b)
    assert set(engine["test_heldout_domains"]["domain"]) <= set(HELDOUT_DOMAINS)
    assert not set(engine["train"]["domain"]) & set(HELDOUT_DOMAINS)


def test_rows_hold_the_trace_in_three_forms(built):
    out, _ = built
    engine = load_dataset(str(out), "engine", split="train")
    upstream = load_dataset(str(out), "upstream", split="train")
    assert engine.column_names == upstream.column_names
    row = engine[0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["prompt"] == row["messages"][:2] and row["completion"] == row["messages"][2:]
    trace = row["completion"][0]["content"]
    answers = json.loads(trace[trace.rindex("\n{") + 1 :])
    assert {qid: a["answer"] for qid, a in answers.items()} == {
        g["question_id"]: g["answer"] for g in row["gold_answers"]
    }
    assert all(isinstance(g["aliases"], list) for g in row["gold_answers"]) and row["reward"] == 1.0


def test_benchmark_file_is_dacr_bench_json_and_verifies(built):
    _, bench_path = built
    bench = load_benchmark(bench_path)
    assert len(bench.challenges) == 2 and bench.defects == []
    assert {c["source"]["seed"] for c in bench.challenges} == {
        str(3 * dacr_traces.SEED_STRIDE + 5_000_000),
        str(3 * dacr_traces.SEED_STRIDE + 6_000_000),
    }
    for challenge in bench.challenges:
        assert verify_challenge(challenge) == []
    assert json.loads(bench_path.read_text())["createdAt"] is None


def test_same_build_same_bytes_whatever_the_workers(built, tmp_path, fixtures_dir):
    out, bench = built
    again, again_bench = tmp_path / "folder", tmp_path / "bench.json"
    dacr_traces.build(
        _args(again, benchmark=again_bench, upstream=fixtures_dir / "dacr" / "tuning", on_error="skip", workers=2)
    )
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        assert (again / path.relative_to(out)).read_bytes() == path.read_bytes(), path.name
    assert again_bench.read_bytes() == bench.read_bytes()


def test_split_plan_rejects_tiny_builds():
    with pytest.raises(ValueError, match="at least 4"):
        dacr_traces.split_plan(3, 0)
