"""`evaluate.py --backend openai` against a real OpenAI-compatible server (`transformers serve`, the
`real_server` fixture): the same greedy outputs as the hf backend on every task; a client killed
mid-run, or the server killed mid-run and restarted, then a rerun, ends with exactly the results of
an uninterrupted run; a request the server refuses (4xx) is recorded for its prompt; timed-out
requests stop the run and a rerun with more time resumes it in the same run folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crosstrace.evaluation.missing_metrics import EXIT_NOT_MEASURED
from crosstrace.paths import REPO_ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "evaluation"
pytestmark = pytest.mark.usefixtures("one_torch_thread")
TASK_DATA = [
    "--crosstrace_data",
    str(FIXTURES / "crosstrace_release"),
    "--dacr_benchmarks",
    str(FIXTURES / "bench_small.json"),
    "--mcq_data",
    str(FIXTURES / "mcq_small.jsonl"),
]
# The server runs one sequence at a time; batch size 1 on the hf side too, so no padding changes the numerics.
QUICK = ["--max_new_tokens", "8", "--bootstrap", "20", "--batch_size", "1", "--max_samples", "2", "--no_plots"]


def _outputs(run_dir: Path) -> dict[tuple[str, str], str]:
    """Each sample's output, surrounding whitespace removed: `transformers serve` strips the reply it
    parses (" ra ..." arrives as "ra ..."), and no scorer reads that whitespace."""
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return {(row["task"], str(row.get("id") or row.get("question_id"))): row["raw_output"].strip() for row in rows}


def _openai_args(real_server) -> list[str]:
    return ["--model", real_server.model, "--backend", "openai", "--base_url", real_server.base_url]


def test_openai_backend_on_a_real_server_equals_the_hf_backend(evaluate_script, real_server, tmp_path):
    tasks = ["--tasks", "crosstrace,dacr,mcq", *TASK_DATA, *QUICK]
    assert evaluate_script.main(["--model", real_server.model, *tasks, "--output_dir", str(tmp_path / "hf")]) == 0
    assert evaluate_script.main([*_openai_args(real_server), *tasks, "--output_dir", str(tmp_path / "api")]) == 0

    hf, api = (
        json.loads((tmp_path / "hf" / "results.json").read_text()),
        json.loads((tmp_path / "api" / "results.json").read_text()),
    )
    assert api["model"]["backend"] == "openai" and set(api["tasks"]) == {"crosstrace", "dacr", "mcq"}
    assert api["prompt_hash"] == hf["prompt_hash"]  # the same prompts went to both
    hf_outputs, api_outputs = _outputs(tmp_path / "hf"), _outputs(tmp_path / "api")
    assert {task for task, _ in api_outputs} == {"crosstrace", "dacr", "mcq"}
    assert len(set(api_outputs.values())) > 2  # the model writes varied text, not one string everywhere
    assert api_outputs == hf_outputs
    for task in ("crosstrace", "dacr", "mcq"):
        assert api["tasks"][task]["metrics"] == hf["tasks"][task]["metrics"], task


def _sum_questions(path: Path, count: int) -> Path:
    """WildSci-format questions made up on the spot: enough prompts for a kill to land mid-run."""
    records = [
        {
            "id": f"sum-{i}",
            "question": f"What is {i} + 3?",
            "options": {letter: str(i + offset) for offset, letter in enumerate("ABCDEFGHIJ")},
            "answer": "D",
            "discipline": "mathematics",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def sums_run(evaluate_script, real_server, tmp_path_factory) -> tuple[list[str], Path]:
    """(arguments, run folder) of an uninterrupted run on 8 questions: what an interrupted run must end with."""
    workdir = tmp_path_factory.mktemp("sums")
    argv = [
        *_openai_args(real_server),
        "--tasks",
        "mcq",
        "--mcq_data",
        str(_sum_questions(workdir / "sums.jsonl", 8)),
        "--max_new_tokens",
        "24",
        "--max_concurrency",
        "1",
        "--bootstrap",
        "20",
        "--no_plots",
        "--run_id",
        "resume-check",
    ]
    assert evaluate_script.main([*argv, "--output_dir", str(workdir / "straight")]) == 0
    return argv, workdir / "straight"


def _wait_for_lines(generations: Path, count: int, running) -> None:
    """Until `generations` holds `count` lines; fails if the run ended first (nothing left to interrupt)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (generations.is_file() and generations.read_text().count("\n") >= count):
        time.sleep(0.01)
    assert running(), "the run finished before it could be interrupted"


def _assert_resumed_equals_straight(resumed_dir: Path, straight_dir: Path) -> None:
    straight = json.loads((straight_dir / "results.json").read_text())
    resumed = json.loads((resumed_dir / "results.json").read_text())
    assert resumed["run_id"] == straight["run_id"]
    for key in ("metrics", "n", "ci95", "breakdowns", "skipped", "problems", "generation"):
        assert resumed["tasks"]["mcq"][key] == straight["tasks"]["mcq"][key], key
    assert (resumed_dir / "samples.jsonl").read_text() == (straight_dir / "samples.jsonl").read_text()
    lines = (resumed_dir / "generations" / "mcq.jsonl").read_text().splitlines()
    assert len(lines) == 8 == len({json.loads(line)["id"] for line in lines})  # every prompt once


def test_client_killed_mid_run_then_rerun_gives_the_uninterrupted_results(evaluate_script, sums_run, tmp_path):
    argv, straight_dir = sums_run
    killed_dir = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    client = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "evaluate.py"), *argv, "--output_dir", str(killed_dir)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    generations = killed_dir / "generations" / "mcq.jsonl"
    try:
        _wait_for_lines(generations, 2, lambda: client.poll() is None)
    finally:
        if client.poll() is None:
            os.killpg(client.pid, signal.SIGKILL)
        client.wait()
    done_before = generations.read_text().count("\n")
    assert 2 <= done_before < 8 and not (killed_dir / "results.json").exists()

    assert evaluate_script.main([*argv, "--output_dir", str(killed_dir)]) == 0
    _assert_resumed_equals_straight(killed_dir, straight_dir)


def test_server_killed_mid_run_then_restarted_rerun_gives_the_uninterrupted_results(
    evaluate_script, real_server, sums_run, tmp_path
):
    argv, straight_dir = sums_run
    killed_dir = tmp_path / "server-killed"
    generations = killed_dir / "generations" / "mcq.jsonl"
    exit_code = []
    client = threading.Thread(
        target=lambda: exit_code.append(
            evaluate_script.main([*argv, "--max_retries", "1", "--output_dir", str(killed_dir)])
        )
    )
    client.start()
    try:
        _wait_for_lines(generations, 2, client.is_alive)
    finally:
        real_server.process.kill()
        client.join(timeout=120)  # its retries find no server: it stops, saying to rerun
        real_server.process.start()  # the same port, for this test's rerun and every later test
    assert exit_code == [1]
    done_before = generations.read_text().count("\n")
    assert 2 <= done_before < 8 and not (killed_dir / "results.json").exists()

    assert evaluate_script.main([*argv, "--output_dir", str(killed_dir)]) == 0
    _assert_resumed_equals_straight(killed_dir, straight_dir)


def test_a_field_the_server_refuses_fails_those_prompts_and_is_recorded(evaluate_script, real_server, tmp_path):
    """transformers serve answers 422 to fields outside the OpenAI API, as hosted APIs answer 400: each
    prompt is recorded as failed (not retried, not fatal), the results are written, and the run exits 3."""
    out = tmp_path / "refused"
    questions = _sum_questions(tmp_path / "sums.jsonl", 3)
    argv = [*_openai_args(real_server), "--tasks", "mcq", "--mcq_data", str(questions), "--max_new_tokens", "4"]
    code = evaluate_script.main([*argv, "--send_sampling_extras", "--no_plots", "--output_dir", str(out)])
    assert code == EXIT_NOT_MEASURED
    results = json.loads((out / "results.json").read_text())
    failed = results["tasks"]["mcq"]["skipped"]["failed_requests"]
    assert failed["count"] == 3 and all(item["error"].startswith("HTTP 422") for item in failed["items"])
    assert results["decoding"]["top_k"] == 0 and results["decoding"]["repetition_penalty"] == 1.0  # what was sent
    assert "Failed requests" in (out / "report.md").read_text()


def test_timed_out_requests_stop_the_run_and_a_rerun_with_more_time_resumes_it(
    evaluate_script, real_server, tmp_path, monkeypatch, caplog
):
    monkeypatch.chdir(tmp_path)  # the default run folder: the timeout is not part of the run id
    questions = _sum_questions(tmp_path / "sums.jsonl", 3)
    argv = [*_openai_args(real_server), "--tasks", "mcq", "--mcq_data", str(questions), "--max_new_tokens", "4"]
    argv += ["--max_concurrency", "1", "--bootstrap", "20", "--no_plots"]
    assert evaluate_script.main([*argv, "--request_timeout", "0.001", "--max_retries", "1"]) == 1
    assert "no answer after 2 attempts" in caplog.text and "rerun the same command to resume" in caplog.text
    (run_dir,) = (tmp_path / "dacr_results").iterdir()
    assert not (run_dir / "results.json").exists()

    assert evaluate_script.main(argv) == 0
    assert [p.name for p in (tmp_path / "dacr_results").iterdir()] == [run_dir.name]
    assert len((run_dir / "samples.jsonl").read_text().splitlines()) == 3
