"""Stage times (crosstrace.stage_times) and the README's demo block rendered from them and the curve."""

from __future__ import annotations

import json
import sys

from crosstrace import stage_times
from crosstrace.publish.demo_section import render_demo_section
from crosstrace.results_schema import CURVE_JSON_NAME, STAGES_NAME


def test_a_stage_prints_and_records_its_time_load_and_exit_status(tmp_path, capsys):
    record = tmp_path / STAGES_NAME
    assert stage_times.main(["--record", str(record), "--stage", "ok", "--", sys.executable, "-c", "pass"]) == 0
    assert stage_times.main(["--record", str(record), "--stage", "bad", "--", sys.executable, "-c", "exit(3)"]) == 3
    printed = capsys.readouterr().out
    assert "[stage ok] done in" in printed and "[stage bad] exit status 3" in printed and "load average" in printed
    events = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(e["event"], e["stage"]) for e in events] == [
        ("start", "ok"),
        ("end", "ok"),
        ("start", "bad"),
        ("end", "bad"),
    ]
    assert len(events[0]["load"]) == 3 and events[0]["cpus"] >= 1 and events[3]["exit_code"] == 3
    assert events[1]["cpu_seconds"] >= 0 and "s CPU" in printed


def _write(record, *events):
    record.write_text("".join(json.dumps(event) + "\n" for event in events))


def test_summary_counts_each_stage_until_it_first_completes(tmp_path):
    record = tmp_path / STAGES_NAME
    load = [1.0, 1.0, 1.0]
    _write(
        record,
        {"event": "skipped", "stage": "build", "reason": "already built", "load": load},
        {"event": "start", "stage": "train", "load": [0.5, 0, 0], "cpus": 2},
        {"event": "end", "stage": "train", "seconds": 60, "load": load, "exit_code": 130},  # interrupted
        {"event": "start", "stage": "train", "load": load, "cpus": 2},  # killed: no end line
        {"event": "start", "stage": "train", "load": load, "cpus": 2},
        {"event": "end", "stage": "train", "seconds": 120, "load": [2.5, 0, 0], "exit_code": 0},
        {"event": "start", "stage": "train", "load": load, "cpus": 2},  # a rerun after it finished: ignored
        {"event": "end", "stage": "train", "seconds": 5, "load": load, "exit_code": 0},
        {"event": "start", "stage": "adapter", "load": load, "cpus": 2},  # still running, or killed
    )
    build, train, adapter = stage_times.stage_summary(record)
    assert (build.skipped, build.completed, build.seconds) == ("already built", True, 0.0)
    assert (train.seconds, train.attempts, train.killed, train.completed) == (180.0, 2, 1, True)
    assert (adapter.completed, adapter.killed) == (False, 1)
    text = stage_times.format_summary([build, train, adapter])
    assert "skipped (already built)" in text and "3.0 min wall" in text and "highest 1-min load average 2.50" in text


def test_the_demo_block_shows_stage_times_training_size_and_the_curve(tmp_path):
    assert "No demo record" in render_demo_section(tmp_path, "demo-run")
    folder = tmp_path / "demo-run"
    folder.mkdir()
    _write(
        folder / STAGES_NAME,
        {"event": "start", "stage": "train", "load": [0.25, 0, 0], "cpus": 2},
        {"event": "end", "stage": "train", "seconds": 600, "cpu_seconds": 1080, "load": [1.75, 0, 0], "exit_code": 0},
    )
    point = {"split": "validation", "n": 16, "ci95": [0.5, 0.875], "hit_max_new_tokens": 1, "role": "checkpoint"}
    curve = {
        "decoding": {"strategy": "greedy", "max_new_tokens": 480},
        "training": {"rows": 236, "epochs": 2, "steps": 118, "tokens": 128400, "train_loss": 1.234},
        "points": [{**point, "step": 40, "tokens": 43000, "compliance": 0.6875}],
    }
    (folder / CURVE_JSON_NAME).write_text(json.dumps(curve))
    text = render_demo_section(tmp_path, "demo-run")
    assert (
        "| train | 10.0 min | 18.0 min | 0.25 → 1.75 |" in text and "| total | 10.0 min | 18.0 min | 2 CPUs |" in text
    )
    assert "236 rows of the train split, 2 pass(es), 118 optimizer updates, 128,400 tokens" in text
    assert "final training loss 1.234" in text
    assert "| 40 | 43,000 | checkpoint | validation, 16 | 68.8% [50.0, 87.5] | 1 |" in text
    assert "(dacr_results/demo-run/learning_curve.png)" in text and "greedy" in text


def test_the_readme_sync_fills_the_demo_block_only_where_its_markers_are(tmp_path):
    from crosstrace.publish import readme_results

    results = tmp_path / "dacr_results"
    results.mkdir()
    plain = tmp_path / "plain.md"
    plain.write_text(f"{readme_results.START}\n{readme_results.END}\n")
    assert readme_results.sync_readme(plain, results) and "No demo record" not in plain.read_text()
    both = tmp_path / "both.md"
    both.write_text(
        f"{readme_results.START}\n{readme_results.END}\nText.\n{readme_results.DEMO_START}\nold\n{readme_results.DEMO_END}\n"
    )
    assert readme_results.sync_readme(both, results)
    assert "No demo record" in both.read_text() and "\nold\n" not in both.read_text()
    assert readme_results.is_current(both, results) and not readme_results.sync_readme(both, results)
