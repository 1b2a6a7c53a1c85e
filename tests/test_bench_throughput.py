"""bench/bench_train_throughput.py --tiny: the GPU throughput check's code path, on CPU with the tiny model."""

from __future__ import annotations

import json

from crosstrace.paths import REPO_ROOT
from scripts import load_script


def test_tiny_throughput_check_writes_a_report_estimate_can_read(tmp_path, monkeypatch):
    bench = load_script("bench/bench_train_throughput.py")
    monkeypatch.chdir(REPO_ROOT)
    out = tmp_path / "report.json"
    assert bench.main(["--tiny", "--steps", "2", "--max_length", "256", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["machine"]["gpu"].startswith("CPU") and report["command"].startswith("python bench/")
    (row,) = report["results"]
    assert row["tokens_per_second"] > 0 and row["seconds_per_update"] > 0 and row["updates_timed"] == 1
    assert (row["attn_implementation"], row["max_length"], row["activation_checkpointing"]) == ("sdpa", 256, True)

    from crosstrace.training.estimate import find_measured

    key = {k: row[k] for k in ("model", "quantization", "attn_implementation", "max_length")}
    key |= {"per_device_train_batch_size": 1, "activation_checkpointing": True}
    assert find_measured(key, folder=tmp_path)["tokens_per_second"] == row["tokens_per_second"]
