"""Which attention kernel a run uses: `attn_implementation: auto` -> FlashAttention-2 when it imports, else SDPA.

Packing does not need FlashAttention-2. TRL's best-fit-decreasing packing runs padding-free: one
flattened sequence per batch, no attention mask, `position_ids` restarting at 0 for every packed
row, no KV cache. From those `position_ids` transformers builds a block-diagonal causal mask for
`sdpa` and `eager` too (masking_utils' packed-sequence detection), so the rows of a bin never
attend to each other under any of the three kernels; FA2's varlen kernel only skips the masked
blocks' work. tests/test_packed_attention.py pins this against each row run alone, and pins that an
all-ones mask or a KV cache DO mix the rows, so an upgrade that breaks the isolation fails loudly.

flash-attn has no wheel for many CUDA/torch pairs and takes long to build, so it stays optional.
"""

from __future__ import annotations

import importlib.util
import logging

logger = logging.getLogger(__name__)

AUTO = "auto"
FLASH_ATTENTION_2 = "flash_attention_2"
SDPA = "sdpa"


def flash_attn_available() -> bool:
    """True when the `flash_attn` package imports here (a CUDA build of it; CPU machines never have one)."""
    if importlib.util.find_spec("flash_attn") is None:
        return False
    try:
        import flash_attn  # noqa: F401
    except Exception:  # a wheel built for another torch/CUDA fails at import with many error types
        return False
    return True


def resolve_attn_implementation(requested: str | None, flash_available: bool | None = None) -> tuple[str | None, str]:
    """(the implementation to load the model with, why). Only `auto` is resolved; any other value is kept."""
    if requested != AUTO:
        return requested, "as set in the recipe" if requested else "transformers' default for the model"
    if flash_attn_available() if flash_available is None else flash_available:
        return FLASH_ATTENTION_2, "auto: flash_attn imports"
    return SDPA, "auto: flash_attn is not installed (packed rows stay isolated under sdpa: position_ids)"


def choose_attention(model_args) -> dict[str, str | None]:
    """Resolve `model_args.attn_implementation` in place, log the choice, return it for run_metadata.json."""
    requested = model_args.attn_implementation
    resolved, reason = resolve_attn_implementation(requested)
    model_args.attn_implementation = resolved
    logger.info("attention: %s (requested %s; %s)", resolved, requested, reason)
    return {"requested": requested, "resolved": resolved, "reason": reason}
