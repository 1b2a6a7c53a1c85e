"""The checks a stage must pass before a push, and the patterns behind them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from publish_fixtures import copy_results, write_dataset_folder, write_training_output

from crosstrace.publish.checks import (
    check_adapter_loads,
    check_card,
    check_decontamination,
    check_files,
    check_local_paths,
    check_secrets,
    run_checks,
)
from crosstrace.publish.repos import ReleaseRepos
from crosstrace.publish.stage import StagedRepo, stage_adapter, stage_datasets
from crosstrace.sanitize import find_local_paths, find_secrets, strip_local_paths, strip_local_paths_in_text

REPOS = ReleaseRepos("test-org")
FAKE_HF_TOKEN = "hf_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3h"  # the format of a token, not a token


# --- patterns ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"token: {FAKE_HF_TOKEN}",
        "OPENAI_API_KEY=sk-" + "proj-Ab12Cd34Ef56Gh78Ij90Kl12",
        "aws = AKIA" + "ABCDEFGHIJKLMNOP",
        '"api_key": "' + "x7Gq2Lm9Rt4Vb8Nc1Zp6Hs3K" + '"',
        "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
    ],
)
def test_secret_patterns_find_credentials(text):
    findings = list(find_secrets(f"first line\n{text}\n"))
    assert findings and findings[0].where == "line 2"
    assert text[-12:] not in findings[0].excerpt  # excerpts are redacted


@pytest.mark.parametrize(
    "text",
    [
        "the hf_hub_download function",
        "a sk-learn style estimator",
        "api_key: <your key here>",
        "password: see the admin docs",
        "the token budget is 2048",
    ],
)
def test_secret_patterns_leave_prose_alone(text):
    assert list(find_secrets(text)) == []


@pytest.mark.parametrize(
    "text",
    [
        "/home/alice/data.json",
        "saved to /tmp/run1",
        '"output_dir": "/work/main/runs/x"',
        "C:\\Users\\bob\\model",
        "file:///Users/carol/x",
        "/root/.cache/hf",
    ],
)
def test_local_paths_are_found(text):
    assert [f.kind for f in find_local_paths(text)]


@pytest.mark.parametrize(
    "text",
    [
        "https://example.org/home/page",
        "../shared/data/crosstrace",
        "build/crosstrace/all/train.parquet",
        "input/output ratio",
        "and/or",
    ],
)
def test_relative_paths_and_urls_are_not_local_paths(text):
    assert list(find_local_paths(text)) == []


def test_strip_local_paths_rewrites_and_counts():
    from crosstrace.paths import REPO_ROOT

    tree = {
        "output_dir": f"{REPO_ROOT}/runs/release",
        "model": "/home/alice/models/qwen",
        "n": 3,
        "note": "kept as is",
    }
    clean, replaced = strip_local_paths(tree)
    assert clean == {"output_dir": "runs/release", "model": "<local>/qwen", "n": 3, "note": "kept as is"}
    assert replaced == 2
    text, n = strip_local_paths_in_text("written to /tmp/x/report.md and /home/a/b")
    assert n == 2 and not list(find_local_paths(text))


@pytest.mark.parametrize("checkout", ["/check/work/main", "/builds/ci/crosstrace"])
def test_paths_inside_the_checkout_become_relative_whatever_its_root(checkout, monkeypatch):
    # CI checks out under /check/..., a root the generic pattern does not list; a sibling folder is not the checkout.
    import crosstrace.sanitize as sanitize

    monkeypatch.setattr(sanitize, "REPO_ROOT", Path(checkout))
    text, n = strip_local_paths_in_text(
        f"output_dir: {checkout}/runs/release, data {checkout}/build/crosstrace; {checkout}-other/x"
    )
    assert text == f"output_dir: runs/release, data build/crosstrace; {checkout}-other/x" and n == 2
    assert strip_local_paths({"path": checkout})[0] == {"path": "."}


# --- checks on stages --------------------------------------------------------------------------


@pytest.fixture()
def dataset_stage(tmp_path) -> StagedRepo:
    write_dataset_folder(tmp_path / "build" / "crosstrace")
    (staged,) = stage_datasets(tmp_path / "build", ["crosstrace"], REPOS, tmp_path / "stage")
    return staged


def test_a_clean_dataset_stage_passes_every_check(dataset_stage):
    results = run_checks(dataset_stage)
    assert [r.name for r in results] == ["files", "secrets", "paths", "sizes", "card", "load", "decontamination"]
    assert all(r.passed for r in results), [(r.name, r.problems) for r in results if not r.passed]
    load, decontamination = results[-2:]
    assert decontamination.detail.startswith("no decontamination.json yet")
    assert "all {'train': 2, 'test': 1}" in load.detail and "biomedical {'train': 2}" in load.detail


def test_the_decontamination_report_is_staged_and_its_card_section_checked(tmp_path):
    from crosstrace.builders.__main__ import main as builders_main

    folder = write_dataset_folder(tmp_path / "build" / "crosstrace")
    assert builders_main(["decontaminate", "--folders", str(folder), "--out", str(tmp_path / "whole.json")]) == 0
    (staged,) = stage_datasets(tmp_path / "build", ["crosstrace"], REPOS, tmp_path / "stage")
    assert "decontamination.json" in [p.name for p in staged.files()]  # what the push uploads
    assert check_decontamination(staged).detail.startswith("decontamination.json: 1 training/evaluation pair(s)")
    card = staged.folder / "README.md"
    card.write_text(card.read_text().replace("| 1 | 0 (0.0%) |", "| 1 | 1 (100.0%) |"))
    result = check_decontamination(staged)
    assert not result.passed and "not the render of decontamination.json" in result.problems[0]


def test_a_token_anywhere_fails_the_secrets_check(dataset_stage):
    (dataset_stage.folder / "notes.txt").write_text(f"pushed with HF_TOKEN={FAKE_HF_TOKEN}\n")
    result = check_secrets(dataset_stage)
    assert not result.passed
    assert any("notes.txt line 1: Hugging Face token" in p for p in result.problems)


def test_a_token_inside_a_parquet_cell_is_found(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "stage"
    folder.mkdir()
    pq.write_table(pa.table({"text": ["fine", f"leaked {FAKE_HF_TOKEN}"]}), folder / "data.parquet")
    result = check_secrets(StagedRepo("dataset", "test-org/x", "dataset", folder))
    assert not result.passed and "data.parquet row 1" in result.problems[0]


def test_an_absolute_path_fails_the_paths_check(dataset_stage):
    manifest = json.loads((dataset_stage.folder / "manifest.json").read_text())
    manifest["source"] = "/home/alice/shared/data/crosstrace"
    (dataset_stage.folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = check_local_paths(dataset_stage)
    assert not result.passed
    assert any(p.startswith("manifest.json line") and "/home/alice" in p for p in result.problems)


@pytest.mark.parametrize(
    "relative",
    [
        "optimizer.pt",
        "checkpoint-500/adapter_model.safetensors",
        "rng_state_0.pth",
        "training_args.bin",
        "trainer_state.json",
    ],
)
def test_optimizer_state_and_checkpoints_fail_the_files_check(dataset_stage, relative):
    target = dataset_stage.folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"state")
    result = check_files(dataset_stage)
    assert not result.passed and relative in result.problems[0]


def test_a_card_without_the_shared_citations_or_with_a_missing_data_file_fails(dataset_stage):
    readme = dataset_stage.folder / "README.md"
    readme.write_text(readme.read_text().replace("@misc{qwen2025qwen25", "@misc{edited"))
    (dataset_stage.folder / "biomedical" / "train.parquet").unlink()
    result = check_card(dataset_stage)
    assert not result.passed
    assert any("citations" in p for p in result.problems)
    assert any("biomedical/train.parquet does not exist" in p for p in result.problems)


def test_staging_names_the_organisation_in_dataset_cards(dataset_stage):
    text = (dataset_stage.folder / "README.md").read_text()
    assert 'load_dataset("test-org/crosstrace", "all")' in text and "<org>/" not in text
    assert any("now name test-org/" in note for note in dataset_stage.notes)


def test_stub_text_in_a_card_fails(dataset_stage):
    readme = dataset_stage.folder / "README.md"
    readme.write_text(readme.read_text() + "\n## Bias\n\nMore Information Needed\n")
    assert not check_card(dataset_stage).passed


def test_a_missing_built_folder_is_a_failed_stage(tmp_path):
    (staged,) = stage_datasets(tmp_path / "build", ["mcq"], REPOS, tmp_path / "stage")
    (result,) = run_checks(staged)
    assert not result.passed and "python -m crosstrace.builders mcq" in result.problems[0]


# --- the adapter -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def training_output(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train")
    return write_training_output(root / "out", root / "base")


def test_adapter_stage_publishes_only_the_release_files(tmp_path, training_output):
    out = training_output
    staged = stage_adapter(
        out, REPOS, tmp_path / "stage", copy_results(tmp_path / "results"), base_model="test-org/tiny-qwen2"
    )
    names = sorted(p.relative_to(staged.folder).as_posix() for p in staged.files())
    assert names == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        "recipe.yaml",
        "run_metadata.json",
        "train_results.json",
    ]
    config = json.loads((staged.folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "test-org/tiny-qwen2"
    assert "<local>/base" in (staged.folder / "recipe.yaml").read_text()
    assert any("left out checkpoint-2/ (1 files)" in note for note in staged.notes)
    assert any("left out training_args.bin" in note for note in staged.notes)
    results = run_checks(staged)
    assert all(r.passed for r in results), [(r.name, r.problems) for r in results if not r.passed]
    adapter = next(r for r in results if r.name == "adapter")
    assert "28 LoRA tensors" in adapter.detail and "down_proj" in adapter.detail


def test_adapter_with_a_local_base_is_refused(tmp_path, training_output):
    out = training_output
    staged = stage_adapter(out, REPOS, tmp_path / "stage", tmp_path / "no-results")
    result = check_adapter_loads(staged)
    assert not result.passed and any("is not a Hub id" in p for p in result.problems)


def test_adapter_checked_against_a_base_of_another_width_fails(tmp_path, training_output):
    from publish_fixtures import tiny_qwen2_config

    out = training_output
    wider = tmp_path / "wider-base"
    tiny_qwen2_config(hidden_size=96).save_pretrained(wider)
    staged = stage_adapter(
        out,
        REPOS,
        tmp_path / "stage",
        tmp_path / "no-results",
        base_model="test-org/tiny-qwen2",
        base_config=str(wider),
    )
    result = check_adapter_loads(staged)
    assert not result.passed and "size mismatch" in result.problems[0]


def test_adapter_with_tensors_the_config_does_not_create_fails(tmp_path, training_output):
    from safetensors.torch import load_file, save_file

    out = training_output
    staged = stage_adapter(out, REPOS, tmp_path / "stage", tmp_path / "no-results", base_model="test-org/tiny-qwen2")
    weights = staged.folder / "adapter_model.safetensors"
    tensors = load_file(weights)
    dropped = sorted(tensors)[0]
    del tensors[dropped]
    save_file(tensors, weights)
    result = check_adapter_loads(staged)
    assert not result.passed and any(dropped in p and "missing" in p for p in result.problems)


def test_a_release_adapter_is_checked_against_the_published_7b_config_offline(tmp_path):
    """No Qwen2.5-7B on this machine: its published config builds the model on the meta device."""
    import torch
    from peft import LoraConfig
    from safetensors.torch import save_file

    folder = tmp_path / "stage"
    folder.mkdir()
    LoraConfig(
        r=1,
        lora_alpha=2,
        target_modules=["q_proj"],
        task_type="CAUSAL_LM",
        base_model_name_or_path="Qwen/Qwen2.5-7B-Instruct",
    ).save_pretrained(folder)
    # r=1 on q_proj only keeps the file small (28 layers x 2 x 3584 values); the shapes are the real ones.
    tensors = {}
    for layer in range(28):
        prefix = f"base_model.model.model.layers.{layer}.self_attn.q_proj"
        tensors[f"{prefix}.lora_A.weight"] = torch.zeros(1, 3584)
        tensors[f"{prefix}.lora_B.weight"] = torch.zeros(3584, 1)
    save_file(tensors, folder / "adapter_model.safetensors")
    result = check_adapter_loads(StagedRepo("adapter", "test-org/a", "model", folder))
    assert result.passed, result.problems
    assert "published config.json" in result.detail and "56 LoRA tensors" in result.detail

    tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"] = torch.zeros(
        4096, 1
    )  # a 7B of another family
    save_file(tensors, folder / "adapter_model.safetensors")
    assert not check_adapter_loads(StagedRepo("adapter", "test-org/a", "model", folder)).passed


def test_stage_copies_exactly_the_built_folder(dataset_stage, tmp_path):
    source = tmp_path / "build" / "crosstrace"
    staged = sorted(p.relative_to(dataset_stage.folder) for p in dataset_stage.files())
    built = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    assert staged == built
