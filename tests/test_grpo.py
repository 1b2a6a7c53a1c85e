"""The GRPO stage of train.py: recipes, rewards by name, the vLLM fallback, and the CPU smoke run."""

from __future__ import annotations

import functools
import json
import logging

import pytest
import yaml
from test_train import parse, train

from crosstrace.paths import REPO_ROOT
from crosstrace.rewards import REWARDS
from crosstrace.training import grpo

SMOKE_GRPO = ["--config", "recipes/smoke-grpo.yaml"]
RELEASE_GRPO = ["--config", "recipes/qwen2.5-7b-grpo.yaml"]


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)


def parse_grpo(argv):
    assert train.trainer_of(argv) == "grpo"
    parser = train.make_parser("grpo")
    import torch

    cpu = [] if torch.cuda.is_available() else ["--use_cpu", "true"]
    return parser.parse_args_and_config([*argv, *cpu])


def test_release_grpo_recipe_parses_as_a_bf16_lora_with_colocated_vllm():
    from trl import get_peft_config, get_quantization_config

    script_args, args, model_args = parse_grpo(RELEASE_GRPO)
    assert script_args.trainer == "grpo" and isinstance(args, grpo.CrossTraceGRPOConfig)
    assert (
        model_args.dtype == "bfloat16" and not model_args.load_in_4bit and get_quantization_config(model_args) is None
    )
    assert get_peft_config(model_args).r == 32
    assert args.use_vllm and args.vllm_mode == "colocate" and args.num_generations == 8
    assert (args.loss_type, args.beta, args.scale_rewards) == ("dapo", 0.0, "group")  # TRL 1.16's defaults
    functions, weights = grpo.reward_functions(args.rewards)
    assert len(functions) == len(weights) == 6 and {s["name"] for s in args.rewards} == set(REWARDS)
    assert {s.label for s in script_args.sources()} == {"mcq-crosstrace", "mcq-engine", "dacr-traces", "crosstrace"}


def test_every_grpo_recipe_knob_has_a_comment():
    for name in ("qwen2.5-7b-grpo.yaml",):
        for line in (REPO_ROOT / "recipes" / name).read_text().split("\n"):
            if line and not line.startswith((" ", "#", "-")) and not line.rstrip().endswith(":"):
                assert "#" in line, f"{name}: no comment on {line!r}"


def test_release_recipe_falls_back_to_transformers_generation_without_vllm(monkeypatch, caplog):
    _, args, _ = parse_grpo(RELEASE_GRPO)
    monkeypatch.setattr(grpo, "is_vllm_available", lambda: False)
    with caplog.at_level(logging.WARNING):
        record = grpo.choose_generation(args)
    assert args.use_vllm is False and record == {
        "requested": "vllm",
        "used": "transformers",
        "reason": "vllm is not importable on this machine",
    }
    assert "generating with transformers instead" in caplog.text
    _, args, _ = parse_grpo(RELEASE_GRPO)
    monkeypatch.setattr(grpo, "is_vllm_available", lambda: True)
    assert grpo.choose_generation(args)["used"] == "vllm-colocate" and args.use_vllm


def test_sft_recipes_still_parse_as_sft():
    assert train.trainer_of(["--config", "recipes/smoke.yaml"]) == "sft"
    assert train.trainer_of(["--config", "recipes/smoke.yaml", "--trainer", "grpo"]) == "grpo"
    script_args, _, _ = parse(["--config", "recipes/smoke.yaml"])
    assert script_args.trainer == "sft"


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "needs `rewards:`"),
        ([{"name": "mcq_leter"}], "unknown reward 'mcq_leter'"),
        ([{"name": "mcq_letter", "wieght": 1}], "expected {name, weight}"),
        ([{"name": "mcq_letter", "weight": float("nan")}], "finite"),
    ],
)
def test_reward_specs_are_checked(specs, message):
    with pytest.raises(ValueError, match=message):
        grpo.reward_functions(specs)


def test_grpo_refuses_a_4bit_base(tmp_path):
    with pytest.raises(ValueError, match="no 4-bit base"):
        train.cli([*SMOKE_GRPO, "--load_in_4bit", "true", "--output_dir", str(tmp_path)])


# ----------------------------------------------------------------------------- the smoke run


@pytest.fixture(scope="module")
def recorded_smoke_run(tmp_path_factory):
    """The smoke recipe, asking for vLLM (absent here: the fallback runs), every reward call recorded."""
    out = tmp_path_factory.mktemp("smoke-grpo")
    calls: dict[str, list[dict]] = {}

    def recording(name, function):
        @functools.wraps(function)
        def wrapper(prompts, completions, **columns):
            calls.setdefault(name, []).append({"n": len(completions), **columns})
            return function(prompts=prompts, completions=completions, **columns)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO_ROOT)
        for name, function in list(REWARDS.items()):
            patch.setitem(REWARDS, name, recording(name, function))
        assert train.cli([*SMOKE_GRPO, "--use_vllm", "true", "--output_dir", str(out)]) == 0
    return out, calls


def test_smoke_grpo_calls_each_reward_with_its_columns(recorded_smoke_run):
    _, calls = recorded_smoke_run
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "smoke-grpo.yaml").read_text())
    assert set(calls) == {spec["name"] for spec in recipe["rewards"]}
    readers = {"mcq-fixture": "answer", "dacr-grpo-fixture": "gold_answers", "crosstrace-fixture": "hypothesis"}
    for name, batches in calls.items():
        # pre-run check (2 prompts) + 2 training steps of 6 prompts x 2 generations
        assert [b["n"] for b in batches] == [2, 2, 12, 12], name
        step = batches[2]
        assert set(step["source"]) == set(readers)  # step 1 holds a row of every dataset
        for source in readers:
            rows = [i for i, s in enumerate(step["source"]) if s == source]
            for other, column in readers.items():
                values = [step[column][i] for i in rows]
                assert all(v is not None for v in values) if other == source else all(v is None for v in values)
        dacr = [g for g, s in zip(step["gold_answers"], step["source"], strict=True) if g is not None]
        assert {"trap_planted_value", "trap_correct_value", "evidence_paragraphs"} <= set(dacr[0][0])
        assert all(a in "ABCDEFGHIJ" for a in step["answer"] if a is not None)


def test_smoke_grpo_saves_the_adapter_and_records_the_run(recorded_smoke_run):
    out, _ = recorded_smoke_run
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    record = json.loads((out / "run_metadata.json").read_text())["grpo"]
    assert record["generation"] == {
        "requested": "vllm",
        "used": "transformers",
        "reason": "vllm is not importable on this machine",
    }
    assert record["prebuilt_epochs"] == 2
    check = record["pre_run_check"]
    assert check["prompts"] == 2 and check["generations"] == 2 and 0 <= check["zero_variance_groups"] <= 2
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 2
