"""train.py under a demanding user: recipe and data mistakes are one clear line (file, line, setting), and a
kill -9 inside a checkpoint save leaves a run that resumes from the newest complete checkpoint."""

from __future__ import annotations

import json
import logging
import os
import re
import sys

import pytest
from process_group import run_or_fail

from crosstrace.paths import REPO_ROOT
from crosstrace.training.checkpoints import newest_complete_checkpoint
from scripts import load_script

SMOKE = REPO_ROOT / "recipes" / "smoke.yaml"
CHAT = "tests/fixtures/train/crosstrace_chat.jsonl"


train = load_script("train.py")


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # recipes name their data relative to the repository


# ----------------------------------------------------------------------------- recipe and data mistakes

# (id, replace this text of smoke.yaml, by this, the setting the error names, the line holding `marker`)
RECIPE_MISTAKES = [
    ("misspelt-key", "learning_rate: 1.0e-3", "learning_rat: 1.0e-3", "learning_rat", "learning_rat"),
    ("misspelt-mixture-key", "    weight: 0.5", "    wieght: 0.5", "mixture[1].wieght", "wieght"),
    ("weight-text", "    weight: 0.5", "    weight: half", "mixture[1]", "- label: dacr-traces-fixture"),
    ("weight-negative", "    weight: 0.5", "    weight: -1", "mixture[1]", "- label: dacr-traces-fixture"),
    ("number-is-text", "learning_rate: 1.0e-3", "learning_rate: fast", "learning_rate", "learning_rate"),
    ("bool-is-text", "packing: true", "packing: maybe", "packing", "packing: maybe"),
    ("choice-unknown", "lr_scheduler_type: linear", "lr_scheduler_type: linaer", "lr_scheduler_type", "linaer"),
    ("yaml-syntax", "  - label: dacr-traces-fixture", "  - label: [dacr-traces-fixture", None, "path: json\n"),
    ("set-twice", "seed: 42", "seed: 42\nseed: 7", "seed", "seed: 7"),
    ("empty-mixture", None, "mixture: []", "mixture", "mixture: []"),
    ("duplicate-labels", "label: dacr-traces-fixture", "label: crosstrace-fixture", "mixture", "mixture:"),
    ("entry-not-mapping", "  - label: crosstrace-fixture", "  - crosstrace-fixture\n  - label: x", "mixture[0]", None),
]


def _mutated_recipe(tmp_path, old, new):
    text = SMOKE.read_text()
    if old is None:  # replace the whole mixture block
        start, end = text.index("mixture:"), text.index("# --- training")
        text = text[:start] + new + "\n\n" + text[end:]
    else:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path, text


def _line_of(text, marker):
    return next(i for i, line in enumerate(text.splitlines(), start=1) if marker.strip() in line)


def _assert_one_clear_line(capsys, rc, path, line, field):
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert err.startswith(f"error: {where}"), err
    if field:
        assert f"'{field}'" in err, err


@pytest.mark.parametrize(
    "old,new,field,marker", [case[1:] for case in RECIPE_MISTAKES], ids=[case[0] for case in RECIPE_MISTAKES]
)
def test_recipe_mistakes_are_one_clear_line(tmp_path, capsys, old, new, field, marker):
    path, text = _mutated_recipe(tmp_path, old, new)
    line = None
    if marker == "path: json\n":  # the YAML parser stops where the unclosed bracket meets the next key
        line = _line_of(text, "[dacr-traces-fixture") + 1
    elif marker is not None:
        line = _line_of(text, marker)
    else:
        line = _line_of(text, "- crosstrace-fixture")
    rc = train.cli(["--config", str(path), "--output_dir", str(tmp_path / "out")])
    _assert_one_clear_line(capsys, rc, path, line, field)


def test_a_misspelt_key_gets_the_nearest_setting_suggested(tmp_path, capsys):
    path, _ = _mutated_recipe(tmp_path, "learning_rate: 1.0e-3", "learning_rat: 1.0e-3")
    assert train.cli(["--config", str(path)]) == 2
    assert "did you mean 'learning_rate'?" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content,line,field",
    [
        (
            '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n{"messages": [',
            2,
            None,
        ),
        ("", None, None),
        ("\n\n", None, None),
    ],
    ids=["bad-json-line", "empty-file", "blank-lines-only"],
)
def test_data_file_mistakes_are_one_clear_line(tmp_path, capsys, monkeypatch, content, line, field):
    data = tmp_path / "data.jsonl"
    data.write_text(content)
    path, _ = _mutated_recipe(tmp_path, f"data_files: {CHAT}", f"data_files: {data}")
    # the data is read before the tokenizer is used; loading one takes seconds and plays no part here
    monkeypatch.setattr(train, "load_tokenizer", lambda *args: None)
    rc = train.cli(["--config", str(path), "--output_dir", str(tmp_path / "out")])
    _assert_one_clear_line(capsys, rc, data, line, field)


def test_a_bad_json_line_is_skipped_and_counted_under_on_bad_rows_skip(tmp_path):
    from crosstrace.errors import ErrorPolicy
    from crosstrace.training.mixture import MixtureSource, build_mixture

    data = tmp_path / "data.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    data.write_text(json.dumps(good) + "\n{not json\n" + json.dumps(good) + "\n")
    policy = ErrorPolicy("skip")
    mixture = build_mixture([MixtureSource(label="d", path="json", data_files=str(data))], seed=0, policy=policy)
    assert len(mixture.dataset) == 2
    assert [(s["line"], s["path"]) for s in mixture.reports[0].skipped] == [(2, str(data))]


# ----------------------------------------------------------------------------- interrupted checkpoint saves


def test_an_empty_checkpoint_folder_is_passed_over(tmp_path):
    """`mkdir -p out/checkpoint-1` (a save killed before its first file) must not make the run unresumable."""
    (tmp_path / "checkpoint-1").mkdir()
    complete = tmp_path / "checkpoint-3"
    complete.mkdir()
    (complete / "trainer_state.json").write_text(json.dumps({"global_step": 3}))
    truncated = tmp_path / "checkpoint-5"
    truncated.mkdir()
    (truncated / "trainer_state.json").write_text('{"global_step": 5, "log_hi')
    choice = newest_complete_checkpoint(tmp_path)
    assert choice.resume_from == complete
    assert [folder.name for folder, _ in choice.passed_over] == ["checkpoint-5"]
    only_empty = newest_complete_checkpoint(tmp_path / "checkpoint-1")
    assert only_empty.resume_from is None


def test_kill_inside_a_checkpoint_save_resumes_from_the_newest_complete_one(tmp_path, caplog):
    out = tmp_path / "run"
    argv = ["--config", str(SMOKE), "--max_steps", "2", "--save_steps", "1", "--output_dir", str(out)]
    # SIGKILL at the second save's RNG state: checkpoint-2 then holds the adapter and optimizer, not its state
    command = [sys.executable, "tests/kill_inside.py", "transformers.trainer:Trainer._save_rng_state", "2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    killed = run_or_fail([*command, "train.py", *argv], REPO_ROOT, env, 600, "train.py killed in a save")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoint-2" / "adapter_model.safetensors").is_file()
    assert not (out / "checkpoint-2" / "trainer_state.json").exists()

    with caplog.at_level(logging.INFO, logger="train"):
        assert train.cli(argv) == 0
    assert re.search(r"passing over incomplete checkpoint \S*checkpoint-2: no trainer_state.json", caplog.text)
    assert f"resuming from {out / 'checkpoint-1'}" in caplog.text
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2]  # none repeated or lost
    assert (out / "checkpoint-2" / "trainer_state.json").is_file()  # the interrupted save was redone whole
    assert (out / "adapter_model.safetensors").is_file()
