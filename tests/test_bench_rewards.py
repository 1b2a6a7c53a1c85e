"""bench/bench_rewards.py, small: the gaming audit runs over rows the training mixture builds, and passes."""

from __future__ import annotations

from scripts import load_script


def test_the_gaming_audit_bench_runs_and_every_strategy_stays_under_its_bound(capsys):
    assert load_script("bench/bench_rewards.py").main(["--no-similarity", "--mcq-epochs", "2", "--dacr-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "rows: {'mcq': 4, 'crosstrace': 8, 'dacr-fixture': 2, 'dacr-engine': 2}" in out
    (gold,) = [line for line in out.splitlines() if line.startswith("| gold completion |")]
    assert gold.split("|")[2:-1] == [" 1.000 "] * 5  # every reward but the left-out similarity one
    assert "0 failure(s)" in out
