"""evaluate.py's command line: sub-commands, YAML config with overrides, unknown keys are errors."""

from __future__ import annotations

import pytest

from crosstrace.paths import REPO_ROOT


def test_bare_flags_are_a_generation_run(evaluate_script):
    command, args = evaluate_script.parse_command_line(
        [
            "--model",
            "builtin:tiny-qwen2",
            "--tasks",
            "dacr,crosstrace",
            "--long-documents",
            "truncate",
            "--max-new-tokens",
            "32",
        ]
    )
    assert command == "run"
    assert args.task_list == ["dacr", "crosstrace"] and args.long_documents == "truncate" and args.max_new_tokens == 32
    assert args.label == "baseline" and args.temperature == 0.0


def test_yaml_config_with_command_line_override(evaluate_script, tmp_path):
    config = tmp_path / "eval.yaml"
    config.write_text(
        "model: Qwen/Qwen2.5-7B-Instruct\nadapter: org/adapter\ntasks: [dacr]\nbatch_size: 4\nscoring: reference\n"
    )
    command, args = evaluate_script.parse_command_line(["--config", str(config), "--batch_size", "2"])
    assert command == "run" and args.adapter == "org/adapter" and args.task_list == ["dacr"]
    assert args.batch_size == 2 and args.scoring == "reference" and args.label == "fine-tuned"


def test_unknown_yaml_key_is_an_error(evaluate_script, tmp_path, capsys):
    config = tmp_path / "eval.yaml"
    config.write_text("model: m\nbatchsize: 4\n")
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.parse_command_line(["--config", str(config)])
    assert exit_info.value.code == 2 and "batchsize" in capsys.readouterr().err


def test_unknown_flag_and_bad_values_are_errors(evaluate_script, capsys):
    for argv, expected in [
        (["--model", "m", "--max_new_tokenz", "3"], "max_new_tokenz"),
        (["--model", "m", "--tasks", "dacr,poetry"], "poetry"),
        (["--model", "m", "--backend", "tgi"], "tgi"),
        (["--model", "m", "--batch_size", "0"], "batch_size"),
        (["score", "--task", "dacr"], "predictions"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            evaluate_script.parse_command_line(argv)
        assert exit_info.value.code == 2
        assert expected in capsys.readouterr().err


def test_score_and_compare_sub_commands(evaluate_script):
    command, args = evaluate_script.parse_command_line(
        [
            "score",
            "--task",
            "dacr",
            "--benchmark",
            "b.json",
            "--predictions",
            "p.json",
            "--scoring",
            "reference",
            "--output-dir",
            "out",
        ]
    )
    assert (
        command == "score" and args.benchmark == "b.json" and args.scoring == "reference" and args.output_dir == "out"
    )
    command, args = evaluate_script.parse_command_line(
        ["score", "--task", "mcq", "--data", "q.jsonl", "--predictions", "p.jsonl"]
    )
    assert args.benchmark == "q.jsonl"  # --data is the same flag, for tasks that are not benchmarks
    command, args = evaluate_script.parse_command_line(["compare", "runs/base", "runs/tuned", "--output", "table.md"])
    assert command == "compare" and args.run_dirs == ["runs/base", "runs/tuned"] and args.output == "table.md"


def test_help_shows_the_commands(evaluate_script, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.parse_command_line(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "evaluate.py score --task dacr" in out and "--long_documents" in out and "--prompt_template" in out


def test_bad_data_and_models_are_clear_errors_not_tracebacks(evaluate_script, tmp_path, caplog):
    fixtures = REPO_ROOT / "tests" / "fixtures" / "evaluation"
    out = tmp_path / "run"
    cases = [
        (["--tasks", "dacr", "--dacr_benchmarks", str(tmp_path / "missing.json")], "file not found"),
        (
            [
                "--tasks",
                "dacr",
                "--dacr_benchmarks",
                str(fixtures / "bench_small.json"),
                "--prompt_template",
                str(fixtures / "README.md"),
            ],
            "{document} exactly once",
        ),
        (["--tasks", "mcq", "--mcq_data", str(fixtures / "bench_small.json")], "no usable MCQ record"),
        (["--tasks", "mcq"], "needs MCQ records"),
        (
            [
                "--tasks",
                "mcq",
                "--mcq_data",
                str(fixtures / "mcq_small.jsonl"),
                "--model",
                str(tmp_path / "no-model-here"),
            ],
            "cannot load",
        ),
    ]
    for argv, expected in cases:
        caplog.clear()
        assert evaluate_script.main(["--model", "m", *argv, "--output_dir", str(out)]) == 1
        assert expected in caplog.text, (argv, caplog.text)
    assert not out.exists()  # a run that could not start leaves no folder behind
