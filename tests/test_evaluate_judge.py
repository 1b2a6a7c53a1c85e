"""The IAScore judge inside `evaluate.py score`: a metric asked for but not measured fails the run
(and the report says why), records scored per config, the judge's settings and its spread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_server import Script, chat_reply, judge_server_factory, judged_scoring

server = pytest.fixture(judge_server_factory)


@pytest.fixture
def score_crosstrace(evaluate_script, tmp_path, monkeypatch):
    """`run(base_url, *flags)`: score two release records' outputs with the judge there, no retries."""
    run = judged_scoring(evaluate_script, tmp_path, monkeypatch)
    return lambda base_url, *flags: run(base_url, "--judge_max_retries", "0", *flags)


def test_a_judge_that_cannot_score_fails_the_run_and_the_report_says_why(server, score_crosstrace):
    """Defect 2: IAScore asked for and not measured fails the run (EXIT_NOT_MEASURED, the folder written all
    the same), unless --allow_missing_metrics."""
    from crosstrace.evaluation.missing_metrics import EXIT_NOT_MEASURED

    script = Script([(404, {}, '{"error": "model judge not found"}')])
    base_url = server(script)
    code, out = score_crosstrace(base_url)
    assert code == EXIT_NOT_MEASURED != 0
    body = json.loads((out / "results.json").read_text())["tasks"]["crosstrace"]
    reason = body["missing_metrics"]["iascore"]
    assert "none of 2 pair(s)" in reason and "HTTP 404" in reason and "not found" in reason
    report = (out / "report.md").read_text()
    assert "NOT MEASURED: iascore" in report and "HTTP 404" in report
    code, _ = score_crosstrace(base_url, "--allow_missing_metrics")
    assert code == 0


def test_a_judged_run_records_what_it_scored_and_the_judges_spread(server, score_crosstrace):
    """Defect 10 (`used` = records evaluated) and the trust section: seeds, prompt hash, spread."""
    script = Script([], reply_for=lambda body: chat_reply(f"Score: {0.5 + 0.2 * body['seed']}"))
    code, out = score_crosstrace(server(script), "--judge_repeats", "2", "--judge_temperature", "0.7")
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    body = results["tasks"]["crosstrace"]
    assert body["data"]["configs"]["all"]["rows"] == 3 and body["data"]["configs"]["all"]["used"] == 2
    judge = body["scoring"]["judge"]
    assert judge["repeat_seeds"] == [0, 1] and judge["temperature"] == 0.7 and len(judge["prompt_sha256"]) == 64
    assert body["metrics"]["iascore"] == pytest.approx(0.6)
    assert body["extra"]["judge_spread"]["repeat_means_range"] == pytest.approx([0.5, 0.7])
    assert len(script.requests) == 4 and "missing_metrics" not in body
    assert "Judge spread over 2 repeats" in (out / "report.md").read_text()


def test_schema_1_runs_stay_readable_with_their_count_renamed_loaded():
    """Defect 10 renamed schema 1's per-config `used` (records loaded) to `loaded`; committed runs still read."""
    from crosstrace.results_schema import SCHEMA_VERSION, load_runs, read_run

    root = Path(__file__).resolve().parents[1]
    committed = [root / "dacr_results", root / "tests" / "fixtures" / "publish" / "dacr_results"]
    runs = [run for folder in committed for run in load_runs(folder)[0]]
    assert len(runs) >= 4 and all(run.raw["schema_version"] == SCHEMA_VERSION == 2 for run in runs)
    schema_1 = root / "tests" / "fixtures" / "publish" / "dacr_results" / "fixture-qwen25-7b-baseline" / "results.json"
    text = schema_1.read_text(encoding="utf-8")
    assert '"schema_version": 1' in text and '"used": 20' in text
    config = read_run(schema_1).tasks["crosstrace"].data["configs"]["all"]
    assert config["loaded"] == 20 and "used" not in config
