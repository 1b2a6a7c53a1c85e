"""What the trainer actually runs, as opposed to what the recipe asked for.

TRL resolves some settings itself: best-fit-decreasing packing switches padding-free on although
`padding_free: false` stays in SFTConfig, and `attn_implementation: auto` is resolved by
`crosstrace.training.attention`. `recipe.yaml` and `run_metadata.json` record the values that ran.
"""

from __future__ import annotations

from typing import Any


def effective_settings(trainer) -> dict[str, Any]:
    """The settings that decide the computation, read back from a constructed trainer and its model.
    Packing and loss masking are SFTTrainer's: None under GRPOTrainer, which has neither."""
    args = trainer.args

    def sft_flag(name: str) -> bool | None:
        value = getattr(trainer, name, None)
        return None if value is None else bool(value)

    return {
        "padding_free": sft_flag("padding_free"),  # TRL: padding_free or packing with bfd/bfd_split
        "completion_only_loss": sft_flag("completion_only_loss"),
        "attn_implementation": getattr(trainer.model.config, "_attn_implementation", None),
        "use_liger_kernel": bool(args.use_liger_kernel),
        "activation_checkpointing": bool(args.activation_checkpointing or args.gradient_checkpointing),
    }


def apply_to_recipe(recipe: dict[str, Any], effective: dict[str, Any]) -> dict[str, Any]:
    """The recipe with every key the trainer resolved differently replaced by the value that ran."""
    return {**recipe, **{key: value for key, value in effective.items() if key in recipe}}
