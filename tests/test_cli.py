"""crosstrace/cli.py, the one configuration style of every command: YAML, overrides, unknown keys, old names."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from crosstrace.builders import mcq_dataset
from crosstrace.builders.__main__ import main as builders_main
from crosstrace.cli import parse_args
from crosstrace.paths import REPO_ROOT


def _mcq(argv):
    (args,) = parse_args(mcq_dataset.McqArguments, argv, prog="mcq", description=None)
    return args


def test_yaml_values_are_typed_and_the_command_line_wins(tmp_path):
    config = tmp_path / "mcq.yaml"
    config.write_text("engine-n: 40\naudit_embedding_sample: -1\nwildsci: w.jsonl\non_error: skip\n")
    args = _mcq(["--config", str(config), "--engine_n", "7"])
    assert args.engine_n == 7 and args.audit_embedding_sample == -1 and args.on_error == "skip"
    assert str(args.wildsci) == "w.jsonl"
    assert _mcq([f"--config={config}"]).engine_n == 40  # --config=<file> alike
    assert _mcq(["--engine-n", "3", "--engine_n", "4"]).engine_n == 4  # both spellings, last one wins


@pytest.mark.parametrize(
    ("yaml_text", "argv", "expected"),
    [
        ("engine_nn: 3\n", [], "unknown key 'engine_nn' (did you mean --engine_n?)"),
        ("on_error: ignore\n", [], "ignore"),  # checked against the choices, as a flag would be
        ("", ["--engine-m", "3"], "unknown argument(s) --engine-m 3 (did you mean --engine_n?)"),
        ("", ["--engine"], "--engine"),  # no prefix matching
        ("- a list\n", [], "expected a mapping"),
    ],
)
def test_bad_keys_and_values_are_errors_naming_them(tmp_path, capsys, yaml_text, argv, expected):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    with pytest.raises(SystemExit) as exit_info:
        _mcq(["--config", str(config), *argv])
    assert exit_info.value.code == 2 and expected in capsys.readouterr().err


def test_builder_sub_commands_check_their_values_and_show_defaults(capsys):
    argv = ["crosstrace", "--source", "s", "--out", "o", "--domain-totals", "ai_ml=1"]
    with pytest.raises(SystemExit) as exit_info:
        builders_main(argv)
    assert exit_info.value.code == 2 and "--domain_totals: give a non-negative total" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        builders_main(["dacr-traces", "--help"])
    help_text = capsys.readouterr().out
    assert "(default: 5000)" in help_text and "--config YAML" in help_text
    assert builders_main(["poems"]) == 2 and "choose one of crosstrace, dacr-traces, mcq" in capsys.readouterr().err


def test_the_former_module_name_still_runs_the_builders():
    result = subprocess.run(
        [sys.executable, "-m", "crosstrace.build", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "python -m crosstrace.builders dacr-traces" in result.stdout


def _entry_points() -> list[str]:
    """Every `python -m crosstrace...` entry point: a package's `__main__.py`, or a module with a `__main__` guard."""
    names = []
    for path in sorted((REPO_ROOT / "crosstrace").rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        if path.name == "__main__.py":
            names.append(".".join(parts[:-1]))
        elif 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"):
            names.append(".".join(parts))
    return names


HELPERS = [name for name in _entry_points() if name not in ("crosstrace.builders", "crosstrace.build")]


def test_the_readme_lists_every_entry_point_once_in_one_table():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Every command, and how each is configured", 1)[1].split("\n## ", 1)[0]
    listed = [
        line.split("`python -m ", 1)[1].split()[0].rstrip("`")
        for line in table.splitlines()
        if line.startswith("| `python -m ")
    ]
    assert sorted(listed) == sorted(set(listed)) == sorted(_entry_points())


@pytest.mark.parametrize("module", HELPERS)
def test_helper_commands_take_the_one_argument_style(module, tmp_path, capsys):
    main = importlib.import_module(module).main
    config = tmp_path / "options.yaml"
    config.write_text("no_such_option: 1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config)])
    assert exit_info.value.code == 2 and "unknown key 'no_such_option'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--config YAML" in capsys.readouterr().out
