"""train.py: recipes, the smoke run (train, save, reload with PEFT, generate), resume, loss masks, 4-bit, accelerate."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from process_group import run_or_fail

from crosstrace.paths import REPO_ROOT
from scripts import load_script

RECIPES = REPO_ROOT / "recipes"
TRAINING_RECIPES = sorted(RECIPES.glob("*.yaml"))
# Recipes of the SFT stage (the GRPO ones, `trainer: grpo`, are tested in tests/test_grpo.py).
SFT_RECIPES = [p for p in TRAINING_RECIPES if (yaml.safe_load(p.read_text()) or {}).get("trainer", "sft") == "sft"]
ACCELERATE_CONFIGS = sorted((RECIPES / "accelerate").glob("*.yaml"))
SMOKE = ["--config", "recipes/smoke.yaml"]


train = load_script("train.py")


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # recipes name their data relative to the repository


def parse(argv):
    import torch

    # GPU recipes ask for bf16, which TrainingArguments refuses on a machine without a GPU unless use_cpu is set
    cpu = [] if torch.cuda.is_available() else ["--use_cpu", "true"]
    return train.make_parser().parse_args_and_config([*argv, *cpu])


# ----------------------------------------------------------------------------- recipes


def test_there_are_the_three_recipes_and_two_accelerate_configs():
    assert {"qwen2.5-7b-qlora.yaml", "smoke.yaml", "demo.yaml"} <= {p.name for p in TRAINING_RECIPES}
    assert {"ddp.yaml", "fsdp.yaml"} <= {p.name for p in ACCELERATE_CONFIGS}


@pytest.mark.parametrize("recipe", SFT_RECIPES, ids=lambda p: p.name)
def test_every_recipe_parses_and_builds_its_configs(recipe):
    from trl import get_peft_config, get_quantization_config

    script_args, training_args, model_args = parse(["--config", str(recipe)])
    sources = script_args.sources()
    assert sources and all(s.label for s in sources)
    peft = get_peft_config(model_args)
    assert peft is not None and peft.target_modules == "all-linear"
    assert training_args.completion_only_loss is True and training_args.assistant_only_loss is False
    assert training_args.max_length is not None  # TRL's silent 1024 default never applies
    get_quantization_config(model_args)  # builds without error


def test_release_recipe_is_the_published_qlora_setup():
    import torch
    from trl import get_peft_config, get_quantization_config

    _, training_args, model_args = parse(["--config", "recipes/qwen2.5-7b-qlora.yaml"])
    assert model_args.model_name_or_path == "Qwen/Qwen2.5-7B-Instruct"
    bnb = get_quantization_config(model_args)
    assert bnb.load_in_4bit and bnb.bnb_4bit_quant_type == "nf4" and bnb.bnb_4bit_use_double_quant
    assert bnb.bnb_4bit_compute_dtype == torch.bfloat16
    lora = get_peft_config(model_args)
    assert (lora.r, lora.lora_alpha) == (32, 64)
    assert training_args.bf16 and training_args.activation_checkpointing
    assert training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps == 8
    assert training_args.packing and training_args.packing_strategy == "bfd"
    assert model_args.attn_implementation == "auto"  # FA2 when flash_attn imports, else sdpa
    assert training_args.num_train_epochs == 1


@pytest.mark.parametrize("config", ACCELERATE_CONFIGS, ids=lambda p: p.name)
def test_accelerate_configs_load(config):
    from accelerate.commands.config.config_args import ClusterConfig

    loaded = ClusterConfig.from_yaml_file(config)
    assert loaded.distributed_type.value in ("MULTI_GPU", "FSDP")
    assert loaded.mixed_precision == "bf16"


def test_command_line_overrides_the_recipe():
    _, training_args, model_args = parse([*SMOKE, "--learning_rate", "0.5", "--lora_r", "4"])
    assert training_args.learning_rate == 0.5 and model_args.lora_r == 4


def test_unknown_keys_are_errors(tmp_path):
    recipe = yaml.safe_load((RECIPES / "smoke.yaml").read_text())
    recipe["learning_rat"] = 1e-4
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(recipe))
    with pytest.raises(ValueError, match="learning_rat"):
        parse(["--config", str(bad)])
    with pytest.raises(ValueError, match="learning_rat"):  # not taken as an abbreviation of --learning_rate
        parse([*SMOKE, "--learning_rat", "1e-4"])


def test_estimate_prints_tokens_and_hours(capsys):
    assert train.cli([*SMOKE, "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "crosstrace-fixture" in out and "tokens per epoch" in out and "Throughput: QLoRA on one H100" in out


def test_estimate_uses_a_matching_measured_report(capsys, tmp_path, monkeypatch):
    from crosstrace.training import estimate as estimate_module

    _, training_args, model_args = parse(SMOKE)
    key = estimate_module.recipe_key(model_args, training_args)
    row = {**key, "tokens_per_second": 1234.0, "peak_memory_gib": 1.0}
    report = {
        "machine": {"gpu": "NVIDIA H200"},
        "results": [{**row, "max_length": 4096, "tokens_per_second": 9.0}, row],
    }
    (tmp_path / "fixture.json").write_text(json.dumps(report))
    monkeypatch.setattr(estimate_module, "MEASURED_DIR", tmp_path)
    assert train.cli([*SMOKE, "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "at 1,234 tokens/s" in out and "measured by bench/bench_train_throughput.py on NVIDIA H200" in out
    assert train.cli([*SMOKE, "--estimate", "--estimate_gpu", "H100"]) == 0  # another GPU's report: the assumption
    assert "at 3,000 tokens/s" in capsys.readouterr().out


def test_overlong_rows_stop_the_run_with_a_clear_message(capsys, tmp_path):
    assert train.cli([*SMOKE, "--max_length", "200", "--output_dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "longer than max_length=200" in err and "drop_overlong" in err


# ----------------------------------------------------------------------------- the smoke run


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        assert train.cli([*SMOKE, "--output_dir", str(out)]) == 0
    finally:
        os.chdir(cwd)
    return out


def test_smoke_run_writes_the_publishable_folder(smoke_run):
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "tokenizer.json",
        "train_results.json",
        "trainer_state.json",
        "recipe.yaml",
        "run_metadata.json",
    ):
        assert (smoke_run / name).is_file(), name
    assert not list(smoke_run.glob("optimizer*")) and not list(
        smoke_run.glob("scheduler*")
    )  # optimizer state only in checkpoint-*
    assert list(smoke_run.glob("checkpoint-*/optimizer.pt"))
    recipe_text = (smoke_run / "recipe.yaml").read_text()
    assert str(Path.home()) not in recipe_text and "/tmp" not in recipe_text
    metadata = json.loads((smoke_run / "run_metadata.json").read_text())
    assert metadata["libraries"]["trl"] and metadata["libraries"]["crosstrace"] and metadata["world_size"] == 1
    assert metadata["git"]["commit"] is None or len(metadata["git"]["commit"]) == 40
    assert {d["label"] for d in metadata["datasets"]} == {"crosstrace-fixture", "dacr-traces-fixture"}
    # The resolved mixture, every field filled in: what the model card's mixture table reads.
    assert [m["label"] for m in metadata["mixture"]] == [d["label"] for d in metadata["datasets"]]
    assert all({"weight", "replacement", "cap_ratio", "split"} <= set(m) for m in metadata["mixture"])
    assert all(d["fingerprint"] for d in metadata["datasets"])
    assert {d["data_files"] for d in metadata["datasets"]} == {
        "tests/fixtures/train/crosstrace_chat.jsonl",
        "tests/fixtures/train/dacr_traces.jsonl",
    }
    state = json.loads((smoke_run / "trainer_state.json").read_text())
    assert state["global_step"] > 0 and any("loss" in entry for entry in state["log_history"])


def test_smoke_run_records_what_trl_ran(smoke_run):
    # bfd packing turns padding-free on inside TRL although the recipe leaves padding_free at false
    recipe = yaml.safe_load((smoke_run / "recipe.yaml").read_text())
    assert recipe["packing_strategy"] == "bfd" and recipe["padding_free"] is True
    runtime = json.loads((smoke_run / "run_metadata.json").read_text())["runtime"]
    assert runtime["effective"]["padding_free"] is True and runtime["effective"]["completion_only_loss"] is True
    assert runtime["effective"]["attn_implementation"] == recipe["attn_implementation"] == "sdpa"
    assert runtime["attention"]["requested"] is None  # the smoke recipe leaves it to transformers
    distributed = runtime["distributed"]
    assert (distributed["distributed_type"], distributed["num_processes"], distributed["process_group"]) == (
        "NO",
        1,
        False,
    )


def test_smoke_adapter_reloads_with_peft_and_generates(smoke_run):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((smoke_run / "adapter_config.json").read_text())
    base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"])
    model = PeftModel.from_pretrained(base, smoke_run)
    saved = load_file(smoke_run / "adapter_model.safetensors")
    lora_b = {k: v for k, v in saved.items() if "lora_B" in k}
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b.values())  # B starts at zero: nonzero means it trained
    tokenizer = AutoTokenizer.from_pretrained(smoke_run)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Field context: test"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 5 or out[0, -1].item() == tokenizer.eos_token_id


def test_resume_continues_at_the_last_checkpoint(smoke_run, tmp_path, caplog, monkeypatch):
    from transformers import TrainerCallback

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    checkpoints = sorted(run.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    final_step = json.loads((smoke_run / "trainer_state.json").read_text())["global_step"]
    assert len(checkpoints) == 2
    shutil.rmtree(checkpoints[-1])  # as if the run had been killed after the earlier checkpoint
    resume_step = int(checkpoints[0].name.split("-")[1])
    assert resume_step < final_step

    executed: list[int] = []

    class RecordSteps(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            executed.append(state.global_step)

    class RecordingTrainer(train.SFTTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.add_callback(RecordSteps())

    monkeypatch.setattr(train, "SFTTrainer", RecordingTrainer)
    with caplog.at_level(logging.INFO, logger="train"):
        assert train.cli([*SMOKE, "--output_dir", str(run)]) == 0
    assert f"resuming from {checkpoints[0]}" in caplog.text
    assert executed == list(range(resume_step + 1, final_step + 1))  # only the steps after the checkpoint ran
    state = json.loads((run / "trainer_state.json").read_text())
    assert state["global_step"] == final_step
    steps = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert steps == list(range(1, final_step + 1))  # no step repeated, none missing


# ----------------------------------------------------------------------------- loss masks


def _first_batch(tokenizer, packing: bool):
    from trl import SFTTrainer

    from crosstrace.models import build_tiny_qwen2
    from crosstrace.training.mixture import COMPLETION, PROMPT, MixtureSource, build_mixture

    fixtures = REPO_ROOT / "tests" / "fixtures" / "train"
    mixture = build_mixture(
        [
            MixtureSource(label="chat", path="json", data_files=str(fixtures / "crosstrace_chat.jsonl")),
            MixtureSource(label="traces", path="json", data_files=str(fixtures / "dacr_traces.jsonl")),
        ],
        seed=0,
    ).dataset
    args = train.CrossTraceSFTConfig(
        output_dir="unused",
        use_cpu=True,
        bf16=False,
        max_length=1024,
        packing=packing,
        per_device_train_batch_size=4,
        report_to="none",
        shuffle_dataset=False,
    )
    # Only the data pipeline matters here; a tiny model whose vocabulary covers either tokenizer stands in.
    trainer = SFTTrainer(
        model=build_tiny_qwen2(),
        args=args,
        train_dataset=mixture.select_columns([PROMPT, COMPLETION]),
        processing_class=tokenizer,
    )
    return mixture, next(iter(trainer.get_train_dataloader()))


def _assert_only_assistant_tokens_carry_loss(tokenizer, mixture, batch, end_of_turn: str):
    completions = {row["completion"][0]["content"] for row in mixture}
    labels, input_ids = batch["labels"], batch["input_ids"]
    trained = labels != -100
    assert trained.any(), "an all-masked batch trains on nothing while the loss looks normal"
    assert (labels[trained] == input_ids[trained]).all()
    # each contiguous run of trained tokens is one assistant turn: its content, then the end-of-turn token
    runs = []
    for row_labels in labels.tolist():
        current: list[int] = []
        for token in [*row_labels, -100]:
            if token != -100:
                current.append(token)
            elif current:
                runs.append(current)
                current = []
    for run in runs:
        text = tokenizer.decode(run)
        assert text.endswith(end_of_turn), text[-40:]
        assert text[: -len(end_of_turn)] in completions
    # and every prompt token is masked: no system, user or template marker text is trained
    masked_text = tokenizer.decode(input_ids[~trained])
    assert "Field context:" in masked_text or "Document:" in masked_text
    assert all("<|im_start|>" not in tokenizer.decode(run) for run in runs)
    return runs


@pytest.mark.parametrize("packing", [False, True], ids=["padded", "packed"])
def test_loss_mask_real_qwen25_template(packing):
    from crosstrace.tokenization import load_qwen25_tokenizer

    tokenizer = load_qwen25_tokenizer()
    mixture, batch = _first_batch(tokenizer, packing)
    runs = _assert_only_assistant_tokens_carry_loss(tokenizer, mixture, batch, "<|im_end|>\n")
    assert len(runs) >= 4 if packing else len(runs) == 4


def test_loss_mask_smollm2_template():
    from crosstrace.models import load_smollm2_tokenizer

    try:
        tokenizer = load_smollm2_tokenizer()
    except ModuleNotFoundError as error:
        pytest.skip(str(error))
    mixture, batch = _first_batch(tokenizer, packing=False)
    _assert_only_assistant_tokens_carry_loss(tokenizer, mixture, batch, "<|im_end|>\n")


# ----------------------------------------------------------------------------- 4-bit


def _bitsandbytes_cpu_reason() -> str | None:
    try:
        import torch
        from bitsandbytes.functional import dequantize_4bit, quantize_4bit

        weights = torch.randn(64, 64)
        packed, state = quantize_4bit(weights, quant_type="nf4", compress_statistics=True)
        dequantize_4bit(packed, state)
    except Exception as error:  # any failure means this machine cannot run the 4-bit path
        return f"bitsandbytes cannot quantise to 4 bits here: {error}"
    return None


@pytest.mark.slow
def test_qlora_4bit_smoke_on_cpu(tmp_path):
    reason = _bitsandbytes_cpu_reason()
    if reason:
        pytest.skip(reason)
    argv = [
        *SMOKE,
        "--load_in_4bit",
        "true",
        "--use_bnb_nested_quant",
        "true",
        "--max_steps",
        "1",
        "--save_strategy",
        "no",
        "--output_dir",
        str(tmp_path),
    ]
    assert train.cli(argv) == 0
    assert (tmp_path / "adapter_model.safetensors").is_file()
    recipe = yaml.safe_load((tmp_path / "recipe.yaml").read_text())
    assert recipe["load_in_4bit"] and recipe["use_bnb_nested_quant"] and recipe["bnb_4bit_quant_type"] == "nf4"


# ----------------------------------------------------------------------------- several processes


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes(tmp_path):
    # In accelerate 1.15 `accelerate launch --cpu --num_processes 2` starts ONE process (its simple launcher
    # spawns several only through mpirun). The torchrun launcher behind --multi_gpu starts two, and the
    # recipe's use_cpu: true makes them CPU processes joined over gloo: real two-process data parallelism.
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
    ]
    command += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    command += ["train.py", *SMOKE, "--max_steps", "2", "--save_strategy", "no", "--output_dir", str(tmp_path)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    # On a timeout the launcher AND both ranks are killed (a rank left behind would wait for its peer forever).
    done = run_or_fail(command, REPO_ROOT, env, 900, "accelerate launch")
    assert done.returncode == 0, done.stderr[-3000:]
    metadata = json.loads((tmp_path / "run_metadata.json").read_text())
    assert metadata["world_size"] == 2
    distributed = metadata["runtime"]["distributed"]
    assert distributed["distributed_type"] == "MULTI_CPU" and distributed["num_processes"] == 2
    assert distributed["process_group"] and distributed["process_group_size"] == 2
    assert json.loads((tmp_path / "trainer_state.json").read_text())["global_step"] == 2
    assert (
        done.stderr.count("Configuration:") + done.stdout.count("Configuration:") == 1
    )  # logged by the main process only
