"""`train.py --estimate`: the size of a run before paying for it.

Counts the tokens of the mixture with the real tokenizer (the one the recipe trains with) and
turns them into hours on one H100 at an assumed QLoRA throughput.

The throughput is an assumption, not a measurement (no H100 was available when this was
written). It is derived from first principles and cross-checked against upstream's report:

  * FLOPs per trained token for QLoRA on a dense model of N parameters: forward 2N, backward
    through the frozen 4-bit weights for the activation gradients 2N (no weight gradients),
    and the forward again under gradient checkpointing 2N: about 6N. Qwen2.5-7B has N = 7.6e9,
    so about 4.6e10 FLOPs per token (LoRA's own matmuls add ~1% at r=32).
  * The H100 SXM peaks at 989 TFLOP/s dense bf16 (NVIDIA's datasheet). QLoRA runs far below peak:
    every matmul first dequantises its NF4 weights, and the LoRA matmuls are tiny. We assume 15%
    of peak, which gives 989e12 * 0.15 / 4.6e10 = about 3,200 tokens/s; we use 3,000.
  * Cross-check: "Synthetic Traces, Real Reasoning" trained 4,421 DACR traces for one epoch in
    2.8 h on one H100 (REFERENCE.md); at 3,000 tokens/s that is ~6,800 tokens per trace, in line
    with engine documents of 12k-20k characters plus a reasoning trace.

Override it with `--estimate_tokens_per_second` once a real run has logged its own figure
(the trainer's `train_tokens_per_second`, or TRL's `num_tokens` over the run time).
"""

from __future__ import annotations

from crosstrace.training.length import SourceLengths

ASSUMED_TOKENS_PER_SECOND = 3000.0
ASSUMPTION = (
    "QLoRA on one H100 SXM at an assumed 3,000 tokens/s: ~6N = 4.6e10 FLOPs per token for a 7.6B model "
    "(forward, activation-gradient backward, checkpoint recompute) at ~15% of 989 TFLOP/s bf16 peak; "
    "consistent with upstream's 4,421 DACR traces in 2.8 h for one epoch. Not measured here."
)


def estimate(report: list[SourceLengths], epochs: float, tokens_per_second: float) -> dict:
    tokens = sum(r.tokens for r in report)
    seconds = tokens * epochs / tokens_per_second
    return {
        "rows": sum(r.rows for r in report),
        "tokens_per_epoch": tokens,
        "epochs": epochs,
        "tokens_per_second": tokens_per_second,
        "hours": round(seconds / 3600, 2),
        "assumption": ASSUMPTION
        if tokens_per_second == ASSUMED_TOKENS_PER_SECOND
        else "throughput given on the command line",
    }


def format_estimate(result: dict) -> str:
    return (
        f"Estimate: {result['rows']:,} rows, {result['tokens_per_epoch']:,} tokens per epoch x {result['epochs']} epoch(s) "
        f"at {result['tokens_per_second']:,.0f} tokens/s -> {result['hours']} h on one H100.\n"
        f"Assumption: {result['assumption']}"
    )
