"""scripts/demo.sh, the README's main job, run end to end without the public release.

The demo runs in a copy of the project's files so that its build/, outputs/ and dacr_results/
never touch the checkout; training and generation are cut to one step and a few tokens, which
is enough to exercise every stage (builds, mixture, LoRA training, two evaluate.py runs, the learning
curve, compare) and the stage times they record. With one step the curve is its two ends only: the
evaluation of checkpoints, and its resumption, are tested in test_learning_curve.py (a second step and
a checkpoint's evaluation here would cost a third more time).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from process_group import run_or_fail

from crosstrace.paths import REPO_ROOT

# What the demo reads from the checkout (the rest of the tree, the CI's .venv included, is not needed).
DEMO_FILES = ["train.py", "evaluate.py", "scripts", "recipes", "crosstrace", "tests/fixtures/crosstrace"]


def _copy_project(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in DEMO_FILES:
        source, target = REPO_ROOT / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    return destination


def _run_demo(project: Path, *train_args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `python` is this interpreter
        "CROSSTRACE_SHARED_DATA": str(project / "no-release-here"),
        "DEMO_EVAL_SAMPLES": "2",
        "DEMO_CURVE_SAMPLES": "2",
        "DEMO_MAX_NEW_TOKENS": "8",
    }
    return run_or_fail(["bash", "scripts/demo.sh", *train_args], project, env, 900, "the demo")


@pytest.mark.slow
def test_demo_without_the_release_runs_on_fixtures_and_engine_questions(tmp_path):
    project = _copy_project(tmp_path / "project")
    done = _run_demo(project, "--max_steps", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "the demo runs on the project's fixture records and engine questions" in done.stderr

    # Both datasets were built from the project's own inputs.
    assert json.loads((project / "build/crosstrace-fixtures/manifest.json").read_text())
    assert json.loads((project / "build/mcq-fixtures/manifest.json").read_text())

    adapter = project / "outputs/demo-fixtures"
    assert (adapter / "adapter_model.safetensors").is_file()
    used = {
        source["label"]: source["used"]
        for source in json.loads((adapter / "run_metadata.json").read_text())["datasets"]
    }
    assert used == {"crosstrace-fixtures": 36, "engine-facts": 19}  # the recipe's weights: 4 x 9 records, 10% of 187

    for run in ("demo-fixtures-smollm2-135m-baseline", "demo-fixtures-smollm2-135m-lora"):
        results = json.loads((project / "dacr_results" / run / "results.json").read_text())
        assert set(results["tasks"]) == {"crosstrace", "mcq"}
        assert results["tasks"]["crosstrace"]["n"]["structural_compliance"] == 2
        assert results["tasks"]["mcq"]["n"]["accuracy"] == 2
    assert results["model"]["adapter"] == "outputs/demo-fixtures"
    # The comparison table, then the stage times, close the demo.
    assert "| structural_compliance |" in done.stdout and "Δ vs baseline" in done.stdout

    # The learning curve: the base model's run and the final adapter's, reused (no checkpoint before step 1).
    record = project / "dacr_results/demo-fixtures-smollm2-135m-run"
    curve = json.loads((record / "learning_curve.json").read_text())
    assert [(p["step"], p["role"], p["split"], p["n"]) for p in curve["points"]] == [
        (0, "base model", "test", 2),
        (1, "final adapter", "test", 2),
    ]
    assert curve["decoding"]["max_new_tokens"] == 8 and curve["training"]["steps"] == 1
    assert curve["checkpoint_sample"] == {"split": "validation", "records": 2, "configs": "all"}
    assert (record / "learning_curve.png").is_file()
    # Every stage printed its time and load average, and recorded them.
    stages = [json.loads(line) for line in (record / "stages.jsonl").read_text().splitlines()]
    ends = {e["stage"]: e["exit_code"] for e in stages if e["event"] == "end"}
    assert ends == dict.fromkeys(("build", "train", "baseline", "adapter", "curve", "compare"), 0)
    assert "[stage train] done in" in done.stdout and "load average" in done.stdout
    assert "total:" in done.stdout
