"""`evaluate.py --backend openai` against a real OpenAI-compatible server (`transformers serve`, the
`real_server` fixture): the same greedy outputs as the hf backend on every task, and a client killed
mid-run then rerun ends with exactly the results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_client_killed_mid_run_then_rerun_gives_the_uninterrupted_results(evaluate_script, real_server, tmp_path):
    questions = _sum_questions(tmp_path / "sums.jsonl", 8)
    argv = [
        *_openai_args(real_server),
        "--tasks",
        "mcq",
        "--mcq_data",
        str(questions),
        "--max_new_tokens",
        "24",
        "--batch_size",
        "1",
        "--max_concurrency",
        "1",
        "--bootstrap",
        "20",
        "--no_plots",
        "--run_id",
        "resume-check",
    ]
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    assert evaluate_script.main([*argv, "--output_dir", str(straight_dir)]) == 0

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
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not (generations.is_file() and generations.read_text().count("\n") >= 2):
            time.sleep(0.01)
        assert client.poll() is None, "the run finished before it could be killed"
    finally:
        if client.poll() is None:
            os.killpg(client.pid, signal.SIGKILL)
        client.wait()
    done_before = generations.read_text().count("\n")
    assert 2 <= done_before < 8 and not (killed_dir / "results.json").exists()

    assert evaluate_script.main([*argv, "--output_dir", str(killed_dir)]) == 0
    straight = json.loads((straight_dir / "results.json").read_text())
    resumed = json.loads((killed_dir / "results.json").read_text())
    assert resumed["run_id"] == straight["run_id"]
    for key in ("metrics", "n", "ci95", "breakdowns", "skipped", "problems"):
        assert resumed["tasks"]["mcq"][key] == straight["tasks"]["mcq"][key], key
    assert (killed_dir / "samples.jsonl").read_text() == (straight_dir / "samples.jsonl").read_text()
    lines = generations.read_text().splitlines()
    assert len(lines) == 8 == len({json.loads(line)["id"] for line in lines})  # every prompt once
