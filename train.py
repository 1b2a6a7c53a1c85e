"""Supervised fine-tuning of a LoRA/QLoRA adapter on the CrossTrace mixture (TRL's SFTTrainer).

    # the release: Qwen2.5-7B-Instruct, 4-bit NF4 QLoRA, one H100
    python train.py --config recipes/qwen2.5-7b-qlora.yaml

    # how big is that run? token count with the real tokenizer, hours on one H100 (no training)
    python train.py --config recipes/qwen2.5-7b-qlora.yaml --estimate --tokenizer_name_or_path builtin:qwen2.5

    # offline on a CPU: the CI recipe (tiny random Qwen2, < 1 min) and the demo (SmolLM2-135M, minutes)
    python train.py --config recipes/smoke.yaml
    python train.py --config recipes/demo.yaml

    # reinforcement learning with verifiable rewards (TRL's GRPOTrainer; see crosstrace/training/grpo.py)
    python train.py --config recipes/smoke-grpo.yaml
    python train.py --config recipes/qwen2.5-7b-grpo.yaml

    # several GPUs: the same recipe under accelerate (DDP or FSDP)
    accelerate launch --config_file recipes/accelerate/ddp.yaml train.py --config recipes/qwen2.5-7b-qlora.yaml

    # two CPU processes (gloo): torchrun's launcher, with the recipe's use_cpu: true
    # (`accelerate launch --cpu --num_processes 2` starts only one process in accelerate 1.15)
    accelerate launch --multi_gpu --num_processes 2 train.py --config recipes/smoke.yaml

Any recipe key can be overridden on the command line (`--learning_rate 1e-4`); keys that no
argument class knows are errors, in the recipe and on the command line. The seed is set first,
the full configuration is logged at the start, and a run whose `output_dir` already holds a
checkpoint resumes from the last one (unless `--resume_from_checkpoint` names another).

What `output_dir` holds at the end, the publishable part: the adapter (`adapter_model.safetensors`,
`adapter_config.json`), the tokenizer, `train_results.json`, `trainer_state.json`, `recipe.yaml`
(the resolved configuration) and `run_metadata.json` (library versions, git commit, the resolved
mixture, dataset fingerprints, token lengths). The `checkpoint-*` folders beside them hold optimizer state for
resuming; they are not part of a release.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from transformers import AutoTokenizer, set_seed
from trl import (
    ModelConfig,
    ScriptArguments,
    SFTConfig,
    SFTTrainer,
    TrlParser,
    get_peft_config,
    get_quantization_config,
)

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.models import resolve_model_path
from crosstrace.tokenization import load_qwen25_tokenizer
from crosstrace.training import grpo
from crosstrace.training.attention import choose_attention
from crosstrace.training.checkpoints import newest_complete_checkpoint
from crosstrace.training.distributed import LaunchError, launch_setup, ran_mode
from crosstrace.training.effective import apply_to_recipe, effective_settings
from crosstrace.training.estimate import (
    ASSUMED_TOKENS_PER_SECOND,
    estimate,
    find_measured,
    format_estimate,
    recipe_key,
)
from crosstrace.training.length import (
    OverlongError,
    add_token_lengths,
    enforce_max_length,
    format_report,
    length_report,
)
from crosstrace.training.metadata import run_metadata, strip_local_paths
from crosstrace.training.mixture import COMPLETION, PROMPT, MixtureSource, build_mixture, parse_sources
from crosstrace.training.recipe_check import check_recipe, config_path

logger = logging.getLogger("train")

REBUILT_QWEN25_TOKENIZER = "builtin:qwen2.5"
TRAINER_NAMES = ("sft", "grpo")


@dataclass
class CrossTraceScriptArguments(ScriptArguments):
    """TRL's script arguments plus the trainer, the dataset mixture and the length policy."""

    trainer: str = field(
        default="sft",
        metadata={
            "help": "'sft' (SFTTrainer) or 'grpo' (GRPOTrainer with the recipe's rewards: crosstrace/training/grpo.py).",
            "choices": list(TRAINER_NAMES),
        },
    )
    mixture: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={
            "help": "Training datasets: a list of {label, path, name, split, weight, ...} (see crosstrace/training/mixture.py). "
            "When empty, `dataset_name`/`dataset_config`/`dataset_train_split` give a single source."
        },
    )
    eval_mixture: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={"help": "Evaluation datasets, same format; used when eval_strategy is not 'no'."},
    )
    drop_overlong: bool = field(
        default=False,
        metadata={
            "help": "Drop (and count) rows longer than max_length. Off: such rows stop the run, since TRL would cut their completions."
        },
    )
    on_bad_rows: str = field(
        default="raise",
        metadata={
            "help": "'raise' on the first malformed row, or 'skip' it (each skip is counted in run_metadata.json).",
            "choices": ["raise", "skip"],
        },
    )
    estimate: bool = field(
        default=False,
        metadata={
            "help": "Print the mixture's token counts and the expected time on one H100, then exit without training."
        },
    )
    estimate_tokens_per_second: float = field(
        default=ASSUMED_TOKENS_PER_SECOND,
        metadata={
            "help": "Throughput assumed by --estimate (tokens/s on one H100; see crosstrace/training/estimate.py for its derivation)."
        },
    )

    estimate_gpu: str | None = field(
        default=None,
        metadata={
            "help": "Use only throughput reports (bench/results/) measured on a GPU whose name contains this, e.g. H100."
        },
    )

    def sources(self) -> list[MixtureSource]:
        if self.mixture:
            return parse_sources(self.mixture)
        if self.dataset_name:
            return [
                MixtureSource(
                    label=self.dataset_name,
                    path=self.dataset_name,
                    name=self.dataset_config,
                    split=self.dataset_train_split,
                )
            ]
        raise ValueError("no training data: set `mixture:` in the recipe (or --dataset_name)")


@dataclass
class CrossTraceModelConfig(ModelConfig):
    """TRL's model configuration plus a separate tokenizer (e.g. the rebuilt Qwen2.5 one, offline)."""

    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": f"Tokenizer to train with; default: the model's. '{REBUILT_QWEN25_TOKENIZER}' is the real Qwen2.5 tokenizer rebuilt offline."
        },
    )


@dataclass
class CrossTraceSFTConfig(SFTConfig):
    """TRL's SFTConfig. Two defaults differ: loss on the completion only (explicitly, not inferred), and
    `gradient_checkpointing` off so recipes use its current name, `activation_checkpointing`."""

    completion_only_loss: bool | None = field(
        default=True, metadata={"help": "Loss on the assistant's completion only (the prompt is masked)."}
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Deprecated alias of activation_checkpointing."}
    )


TRAINERS = {"sft": CrossTraceSFTConfig, "grpo": grpo.CrossTraceGRPOConfig}


def make_parser(trainer: str = "sft") -> TrlParser:
    # allow_abbrev=False: argparse would otherwise take a misspelt prefix (--learning_rat) for the full flag
    return TrlParser((CrossTraceScriptArguments, TRAINERS[trainer], CrossTraceModelConfig), allow_abbrev=False)


def trainer_of(argv: list[str]) -> str:
    """The trainer a command line asks for (`--trainer`, else the recipe's `trainer:`), to pick its config class."""
    named = dict(itertools.pairwise(argv))
    recipe_file = config_path(argv)
    trainer = named.get("--trainer")
    if trainer is None:
        try:
            recipe = yaml.safe_load(Path(recipe_file).read_text()) if recipe_file else None
        except (OSError, yaml.YAMLError):
            recipe = None  # check_recipe reports an unreadable recipe with its file and line
        trainer = recipe.get("trainer", "sft") if isinstance(recipe, dict) else "sft"
    if trainer not in TRAINERS:
        raise DataError(
            recipe_file or "command line", None, "trainer", f"{trainer!r} is not one of {sorted(TRAINERS)}"
        )
    return trainer


def load_tokenizer(model_args: CrossTraceModelConfig, model_path: str, trust_remote_code: bool):
    name = model_args.tokenizer_name_or_path or model_path
    if name == REBUILT_QWEN25_TOKENIZER:
        return load_qwen25_tokenizer()
    return AutoTokenizer.from_pretrained(
        resolve_model_path(name), revision=model_args.model_revision, trust_remote_code=trust_remote_code
    )


def resolved_recipe(script_args, training_args, model_args) -> dict[str, Any]:
    """Every argument's final value (recipe + command line + defaults), as one flat mapping."""
    recipe: dict[str, Any] = {}
    for args in (script_args, model_args):
        recipe.update(asdict(args))
    recipe.update(training_args.to_dict())
    recipe.pop("hub_token", None)
    return recipe


def prepare_dataset(sources, tokenizer, training_args, script_args, policy, prepare=None):
    """Mixture -> token lengths -> length report (printed) -> rows that fit (GRPO: no max_length, all kept)."""
    mixture = build_mixture(sources, seed=training_args.seed, policy=policy, prepare=prepare)
    max_length = getattr(training_args, "max_length", None)
    measured = add_token_lengths(mixture.dataset, tokenizer)
    report = length_report(measured, max_length)
    if not script_args.estimate:  # --estimate prints the same table on stdout
        logger.info("%s", format_report(report, max_length))
    kept, dropped = enforce_max_length(measured, report, max_length, script_args.drop_overlong)
    if dropped:
        logger.warning(
            "dropped %d rows longer than max_length=%d (drop_overlong: true); counted in run_metadata.json",
            dropped,
            max_length,
        )
    return mixture, kept, report, dropped


def last_checkpoint(training_args) -> str | None:
    """The checkpoint named on the command line, else the newest complete one in output_dir (a kill
    during a save leaves an incomplete folder, which is passed over and named)."""
    if training_args.resume_from_checkpoint is not None:
        return training_args.resume_from_checkpoint
    choice = newest_complete_checkpoint(training_args.output_dir)
    for folder, reason in choice.passed_over:
        logger.warning("passing over incomplete checkpoint %s: %s", folder, reason)
    return str(choice.resume_from) if choice.resume_from else None


def main(
    script_args: CrossTraceScriptArguments,
    training_args: CrossTraceSFTConfig,
    model_args: CrossTraceModelConfig,
    callbacks: list | None = None,
) -> int:
    set_seed(training_args.seed)  # first: PEFT's adapter initialisation and the mixture draw depend on it
    distributed = launch_setup(training_args)  # before any work: refuses processes that are not one group
    recipe = resolved_recipe(script_args, training_args, model_args)
    attention = choose_attention(model_args)  # `auto`: flash_attention_2 when flash_attn imports, else sdpa
    if training_args.process_index == 0:
        logger.info("Configuration:\n%s", yaml.safe_dump(recipe, sort_keys=True))

    model_path = resolve_model_path(model_args.model_name_or_path)
    tokenizer = load_tokenizer(model_args, model_path, training_args.trust_remote_code)
    policy = ErrorPolicy(on_error=script_args.on_bad_rows)
    runtime = {"attention": attention, "distributed": distributed}
    if script_args.trainer == "grpo":  # crosstrace/training/grpo.py
        with_model_init_kwargs(training_args, model_args)
        trainer, mixture, train_rows, report, dropped, record = grpo.setup(
            model_path, tokenizer, script_args, training_args, model_args, policy, prepare_dataset
        )
        return finish(trainer, training_args, recipe, mixture, train_rows, report, dropped, policy, runtime, record)

    with training_args.main_process_first(desc="building the mixture"):
        mixture, train_rows, report, dropped = prepare_dataset(
            script_args.sources(), tokenizer, training_args, script_args, policy
        )
        eval_rows = None
        if training_args.eval_strategy != "no":
            if not script_args.eval_mixture:
                raise ValueError("eval_strategy is set but eval_mixture is empty")
            eval_rows = prepare_dataset(
                parse_sources(script_args.eval_mixture), tokenizer, training_args, script_args, policy
            )[1]

    if script_args.estimate:
        print(format_report(report, training_args.max_length))
        given = script_args.estimate_tokens_per_second != ASSUMED_TOKENS_PER_SECOND
        measured = None if given else find_measured(recipe_key(model_args, training_args), script_args.estimate_gpu)
        epochs = training_args.num_train_epochs
        print(format_estimate(estimate(report, epochs, script_args.estimate_tokens_per_second, measured)))
        return 0

    trainer = SFTTrainer(
        model=model_path,
        args=with_model_init_kwargs(training_args, model_args),
        train_dataset=train_rows.select_columns([PROMPT, COMPLETION]),
        eval_dataset=eval_rows.select_columns([PROMPT, COMPLETION]) if eval_rows is not None else None,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        quantization_config=get_quantization_config(model_args),
        callbacks=callbacks,
    )
    return finish(trainer, training_args, recipe, mixture, train_rows, report, dropped, policy, runtime)


def with_model_init_kwargs(training_args, model_args):
    """`training_args` with the model's revision, attention and dtype added to `model_init_kwargs`."""
    model_init_kwargs = {
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }
    training_args.model_init_kwargs = {
        **{k: v for k, v in model_init_kwargs.items() if v is not None},
        **(training_args.model_init_kwargs or {}),
    }
    return training_args


def finish(
    trainer, training_args, recipe, mixture, train_rows, report, dropped, policy, runtime, grpo_record=None
) -> int:
    """Train (resuming from the last checkpoint), then write the publishable folder. `runtime` holds the
    attention choice and the launch's distributed setup; what the built trainer resolved is added here."""
    effective = effective_settings(trainer)  # e.g. bfd packing turns padding_free on inside TRL
    recipe = apply_to_recipe(recipe, effective)
    runtime = {**runtime, "effective": effective, "distributed": ran_mode(runtime["distributed"], trainer.accelerator)}
    checkpoint = last_checkpoint(training_args)
    if checkpoint:
        logger.info("resuming from %s", checkpoint)
    result = trainer.train(resume_from_checkpoint=checkpoint)

    # The publishable folder: adapter + tokenizer, metrics, state, recipe, metadata. No optimizer state.
    trainer.save_model(training_args.output_dir)
    metrics = {**result.metrics, "train_samples": len(train_rows)}
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    if trainer.is_world_process_zero():
        output_dir = Path(training_args.output_dir)
        (output_dir / "recipe.yaml").write_text(yaml.safe_dump(strip_local_paths(recipe), sort_keys=True))
        metadata = run_metadata(
            recipe, mixture, report, dropped, policy.report(), world_size=training_args.world_size, runtime=runtime
        )
        if grpo_record is not None:
            metadata["grpo"] = grpo_record
        (output_dir / "run_metadata.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
        logger.info("saved the adapter, tokenizer, metrics and metadata to %s", output_dir)
    if hasattr(trainer, "end"):
        trainer.end()
    return 0


def cli(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--estimate" in argv and "--use_cpu" not in argv:
        # --estimate trains nothing, so a GPU recipe (bf16: true) must still parse on a laptop or CI machine,
        # where TrainingArguments would otherwise refuse bf16 without a GPU.
        argv += ["--use_cpu", "true"]
    recipe_file = config_path(argv)
    try:
        parser = make_parser(trainer_of(argv))
        if recipe_file is not None:
            check_recipe(recipe_file, parser)
        try:
            script_args, training_args, model_args = parser.parse_args_and_config(argv)
        except ValueError as error:  # the argument classes' own checks (combinations of settings)
            raise DataError(recipe_file or "command line", None, None, str(error)) from None
        return main(script_args, training_args, model_args)
    except (DataError, OverlongError, LaunchError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
