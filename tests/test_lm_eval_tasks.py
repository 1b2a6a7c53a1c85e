"""Our tasks inside lm-evaluation-harness (lm_eval_tasks/): the real `lm_eval` CLI, offline, on a tiny
model, shows the model exactly evaluate.py's chat-formatted prompts, and the outputs it logs, re-scored
by `evaluate.py score`, give exactly the numbers lm-eval reported."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from crosstrace.paths import REPO_ROOT
from scripts import installed_command

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "evaluation"
MCQ, BENCH, RELEASE = FIXTURES / "mcq_small.jsonl", FIXTURES / "bench_small.json", FIXTURES / "crosstrace_release"
# lm-eval task -> (evaluate.py score's flags for the same data and scoring, the metrics compared)
TASKS = {
    "crosstrace_mcq": (["--task", "mcq", "--benchmark", str(MCQ)], ("accuracy", "answer_rate")),
    "crosstrace_mcq_loglik": (
        ["--task", "mcq", "--benchmark", str(MCQ), "--mcq_scoring", "loglik"],
        ("accuracy", "answer_rate"),
    ),
    "crosstrace_dacr": (
        ["--task", "dacr", "--benchmark", str(BENCH), "--scoring", "strict"],
        ("accuracy", "citation", "coverage", "pass_rate", "trap_evasion", "ece", "brier", "cars"),
    ),
    "crosstrace_hypotheses": (
        ["--task", "crosstrace", "--benchmark", str(RELEASE), "--crosstrace_configs", "all,hypogen"],
        ("structural_compliance", "spark_cosine", "hypothesis_cosine", "rouge_l"),
    ),
}


@pytest.fixture(scope="module")
def lm_eval_run(tmp_path_factory) -> tuple[Path, Path]:
    """(the model folder, lm-eval's output folder) after one `lm_eval` run of all four tasks, 2 documents each."""
    from real_server import write_talkative_tiny_model

    from crosstrace.models import resolve_model_path

    lm_eval = installed_command("lm_eval")
    if lm_eval is None:
        pytest.fail("the `lm_eval` command is missing: pip install -r requirements-dev.txt (lm-eval)")
    workdir = tmp_path_factory.mktemp("lm-eval")
    # Weights that write varied text (the CI model as built writes only newlines): outputs worth scoring.
    model = write_talkative_tiny_model(Path(resolve_model_path("builtin:tiny-qwen2")), workdir / "model")
    metadata = {"mcq_data": str(MCQ), "dacr_benchmarks": str(BENCH), "crosstrace_data": str(RELEASE)}
    command = [
        lm_eval,
        "--model", "hf",
        "--model_args", f"pretrained={model},dtype=float32",
        "--device", "cpu",
        "--include_path", str(REPO_ROOT / "lm_eval_tasks"),
        "--tasks", ",".join(TASKS),
        "--apply_chat_template",
        "--gen_kwargs", "max_gen_toks=16",
        "--limit", "2",
        "--metadata", json.dumps(metadata),
        "--log_samples",
        "--output_path", str(workdir / "out"),
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return model, workdir / "out"


@pytest.fixture(scope="module")
def evaluate_outputs(lm_eval_run, evaluate_script, tmp_path_factory) -> dict[str, dict[str, str]]:
    """evaluate.py's own outputs (hf backend, greedy, 16 new tokens, first 2 prompts) on the same data,
    per lm-eval task: {id: raw output}."""
    model, _ = lm_eval_run
    workdir = tmp_path_factory.mktemp("evaluate")
    data = ["--mcq_data", str(MCQ), "--dacr_benchmarks", str(BENCH), "--crosstrace_data", str(RELEASE)]
    quick = ["--max_new_tokens", "16", "--batch_size", "1", "--max_samples", "2", "--bootstrap", "20", "--no_plots"]
    found: dict[str, dict[str, str]] = {}
    for run, tasks, extra in (("generate", "crosstrace,dacr,mcq", []), ("loglik", "mcq", ["--mcq_scoring", "loglik"])):
        argv = ["--model", str(model), "--tasks", tasks, *extra, *data, *quick, "--output_dir", str(workdir / run)]
        assert evaluate_script.main(argv) == 0
        for path in (workdir / run).rglob("generations/*.jsonl"):
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
            name = {"mcq": "crosstrace_mcq", "mcq-loglik": "crosstrace_mcq_loglik", "dacr": "crosstrace_dacr"}
            found[name.get(path.stem, "crosstrace_hypotheses")] = {row["id"]: row["output"] for row in rows}
    assert set(found) == set(TASKS)
    return found


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.rglob(pattern))
    assert len(found) == 1, f"expected one {pattern} under {folder}, found {found}"
    return found[0]


def _samples(out: Path, task: str) -> list[dict]:
    path = _one(out, f"samples_{task}_2*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _output(task: str, sample: dict) -> str:
    """The sample's output as evaluate.py stores it: the generated text, or the loglik option table."""
    if task == "crosstrace_mcq_loglik":
        logprobs = [float(logprob) for logprob, _ in sample["filtered_resps"]]
        return json.dumps(dict(zip(sample["doc"]["letters"], logprobs, strict=True)))
    return sample["filtered_resps"][0]


@pytest.mark.parametrize("task", list(TASKS))
def test_lm_eval_equals_evaluate_py_on_the_same_samples(
    lm_eval_run, evaluate_outputs, evaluate_script, task, tmp_path
):
    from transformers import AutoTokenizer

    from crosstrace.evaluation.backends.base import chat_text
    from crosstrace.scoring.mcq import pick_option

    model, out = lm_eval_run
    samples = _samples(out, task)
    assert len(samples) == 2

    # The model saw exactly the chat-formatted prompt evaluate.py sends, system message included.
    tokenizer = AutoTokenizer.from_pretrained(model)
    for sample in samples:
        doc = sample["doc"]
        messages = ([{"role": "system", "content": doc["system"]}] if doc["system"] else []) + [
            {"role": "user", "content": doc["user"]}
        ]
        assert sample["arguments"]["gen_args_0"]["arg_0"] == chat_text(tokenizer, messages)
    if task == "crosstrace_dacr":
        assert samples[0]["doc"]["system"]  # DACR is evaluated under its system message

    # ... and wrote what evaluate.py writes for the same prompts. Log-likelihoods: lm-eval moves the
    # prompt's trailing newline (the end of "<|im_start|>assistant\n") into every continuation, so each
    # option's sum also holds that newline's log-prob, the same for every option of a question: the
    # differences are one constant and the option picked is the same.
    for sample in samples:
        mine, theirs = evaluate_outputs[task][sample["doc"]["id"]], _output(task, sample)
        if task == "crosstrace_mcq_loglik":
            mine, theirs = json.loads(mine), json.loads(theirs)
            shifts = [theirs[letter] - mine[letter] for letter in mine]
            assert max(shifts) - min(shifts) < 1e-3 and max(shifts) < 0, shifts
            assert pick_option(theirs) == pick_option(mine)
        else:
            assert theirs == mine

    predictions = tmp_path / "outputs.jsonl"
    predictions.write_text(
        "".join(json.dumps({"id": s["doc"]["id"], "output": _output(task, s)}) + "\n" for s in samples),
        encoding="utf-8",
    )
    flags, metrics = TASKS[task]
    argv = ["score", *flags, "--predictions", str(predictions), "--bootstrap", "0", "--no_plots"]
    assert evaluate_script.main([*argv, "--output_dir", str(tmp_path / "score")]) == 0
    ours = _one(tmp_path / "score", "results.json")
    ours_metrics = json.loads(ours.read_text())["tasks"][flags[1]]["metrics"]
    reported = json.loads(_one(out, "results_*.json").read_text())["results"][task]
    for metric in metrics:
        theirs = reported[f"{metric},none"]
        mine = ours_metrics.get(metric)
        if mine is None:  # undefined in our scorer (no trap among these samples): absent here, NaN in lm-eval
            assert isinstance(theirs, float) and math.isnan(theirs), (task, metric, theirs)
        else:
            assert theirs == pytest.approx(mine, abs=1e-12), (task, metric)
    if task == "crosstrace_hypotheses":
        assert any(s["filtered_resps"][0].strip() for s in samples)  # varied text, not empty strings
