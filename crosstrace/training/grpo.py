"""The GRPO stage of train.py: TRL's GRPOTrainer over the mixture, rewards chosen by name in the recipe.

    python train.py --config recipes/smoke-grpo.yaml          # CPU, tiny model, two steps (CI)
    python train.py --config recipes/qwen2.5-7b-grpo.yaml     # one GPU, vLLM colocated

A recipe with `trainer: grpo` names its rewards (`crosstrace.rewards.REWARDS`) with weights:

    rewards:
      - {name: mcq_letter, weight: 1.0}
      - {name: dacr_answers, weight: 1.0}

Rows are the mixture's prompts with their reward columns (the reference completion is dropped);
each reward scores the rows of its own dataset and returns None on the others, which TRL leaves
out of that row's weighted sum. What this module adds to TRL:

- **Per-epoch option reshuffle**: TRL has no per-epoch dataset hook, so `num_train_epochs` E > 1
  is pre-built: E copies of the mixture, copy e with every MCQ's options reshuffled by its own
  seed and its rows in their own order, trained as one epoch in that order.
- **Generation fallback**: a recipe asking for vLLM (`use_vllm: true`) on a machine where vLLM is
  not importable runs with transformers generation instead; logged, and recorded in
  run_metadata.json (`grpo.generation`).
- **Pre-run reward check**: before training, the starting model answers a few prompts
  `num_generations` times; the mean reward and the groups whose rewards are all equal are
  logged and recorded. GRPO learns from differences within a group, so when every group has zero
  variance (a model at chance on ten options usually scores 0 on all eight rollouts) the run
  would learn nothing: a warning says so.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig, GRPOTrainer
from trl.import_utils import is_vllm_available

from crosstrace.errors import ErrorPolicy
from crosstrace.rewards import REWARDS
from crosstrace.rewards.mcq import epoch_seed, reshuffle_options
from crosstrace.training.mixture import PROMPT, REWARD_COLUMNS, SOURCE, build_mixture

logger = logging.getLogger(__name__)


@dataclass
class CrossTraceGRPOConfig(GRPOConfig):
    """TRL's GRPOConfig plus the rewards by name, the starting adapter and the pre-run check."""

    rewards: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={"help": f"Rewards by name with weights: a list of {{name, weight}}; names: {sorted(REWARDS)}."},
    )
    init_adapter: str | None = field(
        default=None,
        metadata={
            "help": "A LoRA adapter (e.g. the SFT release) to continue training on the bf16 base, instead of a fresh one."
        },
    )
    reward_check_prompts: int = field(
        default=4,
        metadata={"help": "Prompts the starting model answers num_generations times before training (0: no check)."},
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Deprecated alias of activation_checkpointing."}
    )


def reward_functions(specs: list[dict[str, Any]]) -> tuple[list[Any], list[float]]:
    """The recipe's `rewards:` entries -> (functions, weights); unknown names and bad weights are errors."""
    if not specs:
        raise ValueError(
            f"trainer: grpo needs `rewards:` in the recipe, a list of {{name, weight}}; names: {sorted(REWARDS)}"
        )
    functions, weights = [], []
    for index, spec in enumerate(specs):
        unknown = sorted(set(spec) - {"name", "weight"})
        if unknown or "name" not in spec:
            raise ValueError(f"rewards[{index}]: expected {{name, weight}}, got keys {sorted(spec)}")
        if spec["name"] not in REWARDS:
            raise ValueError(f"rewards[{index}]: unknown reward {spec['name']!r}; known: {sorted(REWARDS)}")
        weight = float(spec.get("weight", 1.0))
        if not math.isfinite(weight):
            raise ValueError(f"rewards[{index}]: weight must be a finite number, got {spec.get('weight')!r}")
        functions.append(REWARDS[spec["name"]])
        weights.append(weight)
    return functions, weights


def choose_generation(args: GRPOConfig) -> dict[str, Any]:
    """Fall back to transformers generation when the recipe asks for vLLM and it is not importable."""
    if args.use_vllm and not is_vllm_available():
        args.use_vllm = False
        reason = "vllm is not importable on this machine"
        logger.warning("use_vllm: true but %s: generating with transformers instead (slower, same results)", reason)
        return {"requested": "vllm", "used": "transformers", "reason": reason}
    used = f"vllm-{args.vllm_mode}" if args.use_vllm else "transformers"
    return {"requested": used, "used": used, "reason": None}


def _mcq_reshuffler(seed: int):
    def prepare(source, layout: str, dataset):
        if layout != "mcq":
            return dataset
        return dataset.map(reshuffle_options, fn_kwargs={"seed": seed}, desc=f"reshuffling {source.label} options")

    return prepare


def build_rows(prepare_dataset, sources, tokenizer, training_args, script_args, policy):
    """Epoch 0 through train.py's `prepare_dataset` (lengths measured and reported), further epochs
    rebuilt with their own option order; the rows keep the prompt and the reward columns."""
    epochs = max(1, math.ceil(training_args.num_train_epochs))
    seed = training_args.seed
    mixture, rows, report, dropped = prepare_dataset(
        sources, tokenizer, training_args, script_args, policy, prepare=_mcq_reshuffler(epoch_seed(seed, 0))
    )
    keep = [PROMPT, SOURCE, *REWARD_COLUMNS]
    copies = [rows.select_columns(keep)]
    for epoch in range(1, epochs):
        # The same rows (same draws); skipped rows were counted in epoch 0, so later ones use a throwaway policy.
        again = build_mixture(
            sources,
            seed=seed,
            policy=ErrorPolicy(on_error=policy.on_error),
            prepare=_mcq_reshuffler(epoch_seed(seed, epoch)),
        )
        copies.append(again.dataset.select_columns(keep).shuffle(seed=epoch_seed(seed, epoch)).flatten_indices())
    if epochs > 1:
        from datasets import concatenate_datasets

        training_args.num_train_epochs, training_args.shuffle_dataset = 1, False  # the copies are the epochs, in order
        logger.info("pre-built %d epochs (MCQ options reshuffled per epoch), trained as one in order", epochs)
    return mixture, (copies[0] if epochs == 1 else concatenate_datasets(copies)), report, dropped, epochs


def _starting_model(model_path: str, training_args: CrossTraceGRPOConfig, peft_config):
    """The model GRPO starts from: the base by name (TRL loads it, with a fresh LoRA from `peft_config`),
    or the base with `init_adapter` loaded trainable (no merge: the adapter keeps training on bf16 weights)."""
    if not training_args.init_adapter:
        return model_path, peft_config
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_path, **(training_args.model_init_kwargs or {}))
    return PeftModel.from_pretrained(base, training_args.init_adapter, is_trainable=True), None


def build_trainer(model_path: str, training_args: CrossTraceGRPOConfig, rows, tokenizer, peft_config) -> GRPOTrainer:
    functions, weights = reward_functions(training_args.rewards)
    training_args.reward_weights = weights
    model, peft_config = _starting_model(model_path, training_args, peft_config)
    return GRPOTrainer(
        model=model,
        reward_funcs=functions,
        args=training_args,
        train_dataset=rows,
        processing_class=tokenizer,
        peft_config=peft_config,
    )


def reward_check(trainer: GRPOTrainer, rows, n_prompts: int) -> dict[str, Any]:
    """The starting model's mean weighted reward on `n_prompts` prompts, `num_generations` samples
    each, and how many of those groups have zero reward variance (no learning signal)."""
    import torch

    args = trainer.args
    if n_prompts <= 0:
        return {"prompts": 0}
    functions, weights = reward_functions(args.rewards)
    sample = rows.select(range(min(n_prompts, len(rows))))
    tokenizer, model = trainer.processing_class, trainer.model
    groups, totals = [], []
    for row in sample:
        inputs = tokenizer.apply_chat_template(
            row[PROMPT], add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(model.device)
        with torch.no_grad():
            out = model.generate(
                **inputs,
                do_sample=True,
                temperature=args.temperature,
                max_new_tokens=args.max_completion_length,
                num_return_sequences=args.num_generations,
                pad_token_id=tokenizer.pad_token_id,
            )
        texts = tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        completions = [[{"role": "assistant", "content": text}] for text in texts]
        columns = {name: [row[name]] * len(texts) for name in (SOURCE, *REWARD_COLUMNS)}
        per_function = [f(prompts=[row[PROMPT]] * len(texts), completions=completions, **columns) for f in functions]
        group = [
            sum(w * r for w, r in zip(weights, scores, strict=True) if r is not None)
            for scores in zip(*per_function, strict=True)
        ]
        groups.append(group)
        totals.extend(group)
    flat = sum(1 for group in groups if len(set(group)) == 1)
    result = {
        "prompts": len(groups),
        "generations": args.num_generations,
        "mean_reward": statistics.fmean(totals),
        "zero_variance_groups": flat,
    }
    logger.info(
        "pre-run check: mean reward %.3f over %d prompts x %d generations; %d of %d groups have zero variance",
        result["mean_reward"], len(groups), args.num_generations, flat, len(groups),
    )  # fmt: skip
    if flat == len(groups):
        logger.warning(
            "every group of the pre-run check has zero reward variance: GRPO's advantages would all be 0 and the "
            "model would learn nothing. Start from a stronger model (e.g. the SFT adapter: init_adapter), raise "
            "num_generations or temperature, or use easier prompts."
        )
    return result


def setup(model_path, tokenizer, script_args, training_args, model_args, policy, prepare_dataset):
    """Everything train.py needs for a GRPO run: (trainer, mixture, rows, length report, dropped, record),
    the record (generation backend, epochs, rewards, pre-run check) going into run_metadata.json."""
    from trl import get_peft_config

    if script_args.estimate or training_args.eval_strategy != "no" or model_args.load_in_4bit:
        raise ValueError(
            "trainer: grpo takes no --estimate, no eval_strategy and no 4-bit base "
            "(LoRA on bf16 weights: see recipes/qwen2.5-7b-grpo.yaml)"
        )
    generation = choose_generation(training_args)
    with training_args.main_process_first(desc="building the mixture"):
        mixture, rows, report, dropped, epochs = build_rows(
            prepare_dataset, script_args.sources(), tokenizer, training_args, script_args, policy
        )
    trainer = build_trainer(model_path, training_args, rows, tokenizer, get_peft_config(model_args))
    record = {
        "generation": generation,
        "prebuilt_epochs": epochs,
        "rewards": training_args.rewards,
        "pre_run_check": reward_check(trainer, rows, training_args.reward_check_prompts),
    }
    return trainer, mixture, rows, report, dropped, record
