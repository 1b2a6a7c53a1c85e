"""evaluate.py end to end: generation with the hf backend on a tiny Qwen2, the score and compare
sub-commands, the openai backend behind a local server, and resuming after SIGKILL."""

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
BENCH = FIXTURES / "bench_small.json"
RELEASE = FIXTURES / "crosstrace_release"
MCQ = FIXTURES / "mcq_small.jsonl"
TINY = "builtin:tiny-qwen2"  # a random 2-layer Qwen2 (hidden 64) with the real Qwen2.5 tokenizer
pytestmark = pytest.mark.usefixtures("one_torch_thread")
# Small everything: the tiny model writes noise, so a few tokens show the whole path.
QUICK = ["--max_new_tokens", "8", "--bootstrap", "20", "--batch_size", "2"]


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def _samples(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def _reference_texts() -> list[str]:
    """Third-party-style text of the fixtures that must never reach samples.jsonl."""
    texts = []
    for challenge in json.loads(BENCH.read_text())["challenges"]:
        texts += [p for p in challenge["document"]["text"].split("\n\n") if len(p) > 40]
        texts += [q["text"] for q in challenge["questions"]]
    for name in ("test_ours.jsonl", "test_hypogen.jsonl"):
        for line in (RELEASE / name).read_text().splitlines():
            texts.append(json.loads(line)["messages"][2]["content"].split("Hypothesis: ")[1].split("\n")[0])
    return texts


def test_hf_run_on_every_task(evaluate_script, tmp_path):
    from crosstrace.evaluation.tasks import DacrTask
    from crosstrace.tokenization import load_qwen25_tokenizer

    tokenizer = load_qwen25_tokenizer()
    lengths = sorted(
        len(
            tokenizer(
                tokenizer.apply_chat_template(p.messages, tokenize=False, add_generation_prompt=True),
                add_special_tokens=False,
            ).input_ids
        )
        for p in DacrTask([str(BENCH)]).prompts()
    )
    # A context between the two challenge prompts: the longer is skipped (and counted), the shorter runs.
    context = (lengths[0] + lengths[1]) // 2 + 8
    out = tmp_path / "run"
    argv = [
        "--model",
        TINY,
        "--tasks",
        "crosstrace,dacr,mcq",
        "--crosstrace_data",
        str(RELEASE),
        "--dacr_benchmarks",
        str(BENCH),
        "--mcq_data",
        str(MCQ),
    ]
    argv += [*QUICK, "--max_context_tokens", str(context), "--output_dir", str(out)]
    assert evaluate_script.main(argv) == 0

    results = _results(out)
    assert results["schema_version"] == 2 and results["model"] == {
        **results["model"],
        "name_or_path": TINY,
        "adapter": None,
        "backend": "hf",
    }
    assert results["decoding"]["strategy"] == "greedy" and results["decoding"]["max_new_tokens"] == 8
    assert len(results["prompt_hash"]) == 64 and results["versions"]["libraries"]["transformers"]
    assert results["versions"]["benchmarks"]["crosstrace-eval-fixture"]["sha256"]
    assert set(results["tasks"]) == {"crosstrace", "dacr", "mcq"}

    dacr = results["tasks"]["dacr"]
    for metric in ("accuracy", "pass_rate", "cars", "ece"):
        assert 0.0 <= dacr["metrics"][metric] <= 1.0 and metric in dacr["ci95"]
    assert (
        dacr["skipped"]["long_documents"]["skipped_count"] == 1
        and dacr["skipped"]["long_documents"]["policy"] == "skip"
    )
    assert dacr["n"]["questions"] == 4  # the challenge that fit
    assert dacr["scoring"]["mode"] == "strict" and "category" in dacr["breakdowns"]
    assert results["tasks"]["crosstrace"]["n"] and results["tasks"]["mcq"]["metrics"]["accuracy"] <= 1.0

    samples = _samples(out)
    assert sorted({row["task"] for row in samples}) == ["crosstrace", "dacr", "mcq"]
    assert sum(row["task"] == "dacr" for row in samples) == 4 and sum(row["task"] == "mcq" for row in samples) == 3
    assert all(isinstance(row["raw_output"], str) for row in samples)
    dumped = (out / "samples.jsonl").read_text()
    assert not [text for text in _reference_texts() if text in dumped]

    assert (out / "report.md").read_text().startswith("# Evaluation: baseline")
    assert {"dacr_category.png", "dacr_reliability.png", "mcq_metrics.png"} <= {p.name for p in out.glob("*.png")}
    assert sorted(p.name for p in (out / "generations").iterdir()) == ["crosstrace.jsonl", "dacr.jsonl", "mcq.jsonl"]

    # The same command again resumes: nothing is generated twice, and the scores are the same.
    assert evaluate_script.main(argv) == 0
    assert _results(out)["tasks"]["dacr"]["metrics"] == dacr["metrics"]
    assert len((out / "generations" / "dacr.jsonl").read_text().splitlines()) == 1
    # Other decoding in the same folder would mix two runs' outputs: refused before the model loads.
    assert evaluate_script.main([*argv, "--max_new_tokens", "9"]) == 1
    assert _results(out)["decoding"]["max_new_tokens"] == 8


@pytest.mark.shared_data
def test_hf_run_on_the_mini_file_and_the_release(evaluate_script, tmp_path, dacr_mini, crosstrace_release):
    out = tmp_path / "run"
    argv = [
        "--model",
        TINY,
        "--tasks",
        "dacr,crosstrace",
        "--dacr_benchmarks",
        str(dacr_mini),
        "--dacr_split",
        "synthetic",
        "--crosstrace_data",
        str(crosstrace_release),
    ]
    argv += [
        *QUICK,
        "--max_samples",
        "2",
        "--max_context_tokens",
        "1024",
        "--long_documents",
        "truncate",
        "--output_dir",
        str(out),
    ]
    assert evaluate_script.main(argv) == 0
    results = _results(out)
    dacr = results["tasks"]["dacr"]
    assert dacr["skipped"]["long_documents"]["truncated_count"] == 2  # engine documents run to ~5k tokens
    assert dacr["n"]["challenges_scored"] == 2 and dacr["n"]["questions"] == 20
    assert results["versions"]["benchmarks"]["dacr-bench-mini"]["version"] == "1.1"
    challenge_ids = {row["challenge_id"] for row in _samples(out) if row["task"] == "dacr"}
    assert len(challenge_ids) == 2
    # No document text in what is written: check a stretch of each evaluated document.
    mini = json.loads(Path(dacr_mini).read_text())
    dumped = (out / "samples.jsonl").read_text() + (out / "results.json").read_text()
    for challenge in mini["challenges"]:
        if challenge["challengeId"] in challenge_ids:
            assert challenge["document"]["text"][200:300] not in dumped


# ----------------------------------------------------------------------------- score and compare


def _write_predictions(path: Path, answers_for) -> Path:
    records = [
        {"challengeId": c["challengeId"], "answers": {q["questionId"]: answers_for(q) for q in c["questions"]}}
        for c in json.loads(BENCH.read_text())["challenges"]
    ]
    path.write_text(json.dumps(records))
    return path


@pytest.mark.parametrize("mode", ["strict", "reference"])
def test_score_gold_answers_are_all_correct(evaluate_script, tmp_path, mode):
    predictions = _write_predictions(
        tmp_path / "gold.json", lambda q: {"answer": q["goldAnswer"], "citation": "", "confidence": 1.0}
    )
    out = tmp_path / mode
    assert (
        evaluate_script.main(
            [
                "score",
                "--task",
                "dacr",
                "--benchmark",
                str(BENCH),
                "--predictions",
                str(predictions),
                "--scoring",
                mode,
                "--output-dir",
                str(out),
                "--bootstrap",
                "20",
            ]
        )
        == 0
    )
    metrics = _results(out)["tasks"]["dacr"]["metrics"]
    assert (
        metrics["accuracy"] == 1.0
        and metrics["pass_rate"] == 1.0
        and metrics["cars"] == 1.0
        and metrics["trap_evasion"] == 1.0
    )
    assert 0.0 <= metrics["ece"] <= 1.0
    assert _results(out)["model"]["backend"] == "predictions-file"


def test_score_reports_bad_prediction_entries_and_goes_on(evaluate_script, tmp_path):
    lines = [
        json.dumps(
            {
                "challengeId": "eval-fixture-001",
                "answers": {
                    "q01": {"answer": "48", "confidence": 0.9},
                    "q02": {"answer": ["2.7"]},
                    "q04": {"answer": "Halden-3", "confidence": "NaN"},
                },
            }
        ),
        "{this line is not json",
        json.dumps({"answers": {"q01": {"answer": "3.5 mM"}}}),  # no challenge id
        json.dumps(
            {
                "challengeId": "eval-fixture-002",
                "answers": {"q01": {"answer": "3.5 mM", "confidence": float("nan")}, "q02": "strain K7"},
            }
        ),
        json.dumps({"challengeId": "not-in-the-benchmark", "answers": {"q01": {"answer": "1"}}}),
    ]
    predictions = tmp_path / "messy.jsonl"
    predictions.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert (
        evaluate_script.main(
            [
                "score",
                "--task",
                "dacr",
                "--benchmark",
                str(BENCH),
                "--predictions",
                str(predictions),
                "--output-dir",
                str(out),
                "--bootstrap",
                "20",
            ]
        )
        == 0
    )
    dacr = _results(out)["tasks"]["dacr"]
    assert dacr["n"]["questions"] == 8
    assert dacr["metrics"]["accuracy"] == pytest.approx(4 / 8)  # 48, Halden-3, 3.5 mM, strain K7
    problems = json.dumps(dacr["problems"]["items"])
    for expected in ("not valid JSON", "challenge id", "confidence", "answer", "not-in-the-benchmark"):
        assert expected in problems, expected
    assert "problems in outputs or predictions" in (out / "report.md").read_text()


def test_score_raw_outputs_for_crosstrace_and_mcq(evaluate_script, tmp_path):
    good = "Core insight: a b c\n\nReasoning:\n1. one.\n2. two.\n3. three.\n\nHypothesis: h.\n\nApproach: a."
    crosstrace = tmp_path / "ct.jsonl"
    crosstrace.write_text(
        "\n".join(
            [
                json.dumps({"id": "all/test_ours:1", "output": good}),
                json.dumps({"id": "all/test_ours:2", "output": 7}),
                "oops",
                json.dumps({"id": "somewhere-else", "output": "x"}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "ct"
    assert (
        evaluate_script.main(
            [
                "score",
                "--task",
                "crosstrace",
                "--data",
                str(RELEASE),
                "--predictions",
                str(crosstrace),
                "--output-dir",
                str(out),
                "--bootstrap",
                "20",
            ]
        )
        == 0
    )
    body = _results(out)["tasks"]["crosstrace"]
    assert body["skipped"]["no_prediction"]["count"] == 3 and body["skipped"]["predictions_file"]["count"] == 2
    assert "somewhere-else" in json.dumps(body["problems"])

    mcq = tmp_path / "mcq.jsonl"
    mcq.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": "mcq-fixture-1", "output": "Nitrogen.\nAnswer: B"},
                {"id": "mcq-fixture-2", "output": "Answer: A or E"},
                {"id": "mcq-fixture-3", "output": "Answer: D"},
            ]
        )
        + "\n"
    )
    out = tmp_path / "mcq"
    assert (
        evaluate_script.main(
            [
                "score",
                "--task",
                "mcq",
                "--data",
                str(MCQ),
                "--predictions",
                str(mcq),
                "--output-dir",
                str(out),
                "--bootstrap",
                "20",
            ]
        )
        == 0
    )
    assert _results(out)["tasks"]["mcq"]["metrics"]["accuracy"] == pytest.approx(2 / 3)  # two letters named: wrong


def test_compare_prints_the_paper_table(evaluate_script, tmp_path, capsys):
    wrong = _write_predictions(tmp_path / "wrong.json", lambda q: {"answer": "no idea", "confidence": 0.2})
    gold = _write_predictions(tmp_path / "gold.json", lambda q: {"answer": q["goldAnswer"], "confidence": 0.9})
    for name, predictions in (("base", wrong), ("tuned", gold)):
        argv = [
            "score",
            "--task",
            "dacr",
            "--benchmark",
            str(BENCH),
            "--predictions",
            str(predictions),
            "--output-dir",
            str(tmp_path / name),
            "--label",
            name,
            "--bootstrap",
            "20",
        ]
        assert evaluate_script.main(argv) == 0
    capsys.readouterr()
    assert (
        evaluate_script.main(
            ["compare", str(tmp_path / "base"), str(tmp_path / "tuned"), "--output", str(tmp_path / "table.md")]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "| accuracy | 0.0% [0.0, 0.0] | 100.0% [100.0, 100.0] | +100.0 pts" in table
    assert "category trap_targeted (accuracy)" in table and "Δ vs baseline" in table
    assert (tmp_path / "table.md").read_text().strip() == table.strip()


def test_compare_needs_two_existing_runs(evaluate_script, tmp_path, capsys):
    assert evaluate_script.main(["compare", str(tmp_path)]) == 1
    assert "at least two" in capsys.readouterr().err
    assert evaluate_script.main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "not found" in capsys.readouterr().err


# ----------------------------------------------------------------------------- resume after SIGKILL


def _arithmetic_questions(path: Path, count: int) -> Path:
    """WildSci-format questions made up on the spot: enough prompts for a kill to land mid-run."""
    records = []
    for i in range(count):
        options = {letter: str(i + offset) for offset, letter in enumerate("ABCDEFGHIJ")}
        records.append(
            {
                "id": f"sum-{i}",
                "question": f"What is {i} + 3?",
                "options": options,
                "answer": "D",
                "discipline": "mathematics",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.slow
def test_sigkill_then_rerun_gives_the_uninterrupted_results(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "OMP_NUM_THREADS": "1",
    }
    questions = _arithmetic_questions(tmp_path / "sums.jsonl", 8)
    common = [
        "--tasks",
        "mcq",
        "--mcq_data",
        str(questions),
        "--max_new_tokens",
        "24",
        "--batch_size",
        "2",
        "--bootstrap",
        "20",
        "--no_plots",
        "--run_id",
        "resume-check",
    ]
    base = [sys.executable, str(REPO_ROOT / "evaluate.py"), "--model", TINY, *common]

    subprocess.run(
        [*base, "--output_dir", str(tmp_path / "straight")],
        env=env,
        check=True,
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=600,
    )

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(
        [*base, "--output_dir", str(killed_dir)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    generations = killed_dir / "generations" / "mcq.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (generations.is_file() and generations.read_text().count("\n") >= 2):
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = generations.read_text().count("\n")
    assert 2 <= done_before < 8 and not (killed_dir / "results.json").exists()

    subprocess.run(
        [*base, "--output_dir", str(killed_dir)], env=env, check=True, capture_output=True, cwd=REPO_ROOT, timeout=600
    )

    straight, resumed = _results(tmp_path / "straight"), _results(killed_dir)
    assert resumed["run_id"] == straight["run_id"]
    for key in ("metrics", "n", "ci95", "breakdowns", "skipped", "problems", "generation"):
        assert resumed["tasks"]["mcq"][key] == straight["tasks"]["mcq"][key], key
    assert (killed_dir / "samples.jsonl").read_text() == (tmp_path / "straight" / "samples.jsonl").read_text()
    lines = generations.read_text().splitlines()
    assert len(lines) == 8 == len({json.loads(line)["id"] for line in lines})  # every prompt once
    assert sorted(lines) == sorted((tmp_path / "straight" / "generations" / "mcq.jsonl").read_text().splitlines())
