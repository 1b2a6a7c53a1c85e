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
    2.8 h on one H100 (docs/upstream-formats.md §2); at 3,000 tokens/s that is ~6,800 tokens per trace, in line
    with engine documents of 12k-20k characters plus a reasoning trace.

Override it with `--estimate_tokens_per_second` once a real run has logged its own figure
(the trainer's `train_tokens_per_second`, or TRL's `num_tokens` over the run time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.jsonio import read_json_object
from crosstrace.paths import REPO_ROOT
from crosstrace.training.length import SourceLengths

# Throughput reports of bench/bench_train_throughput.py, committed after a GPU run (none yet: no GPU here).
MEASURED_DIR = REPO_ROOT / "bench" / "results"
# A measured figure is used only when a report's row equals the recipe on every one of these fields.
MATCH_KEY = (
    "model",
    "quantization",
    "attn_implementation",
    "max_length",
    "per_device_train_batch_size",
    "activation_checkpointing",
)

ASSUMED_TOKENS_PER_SECOND = 3000.0
ASSUMPTION = (
    "QLoRA on one H100 SXM at an assumed 3,000 tokens/s: ~6N = 4.6e10 FLOPs per token for a 7.6B model "
    "(forward, activation-gradient backward, checkpoint recompute) at ~15% of 989 TFLOP/s bf16 peak; "
    "consistent with upstream's 4,421 DACR traces in 2.8 h for one epoch. Not measured here."
)


def recipe_key(model_args, training_args) -> dict[str, Any]:
    """The recipe's values of MATCH_KEY (attention already resolved by crosstrace.training.attention)."""
    if model_args.load_in_4bit:
        quantization = f"nf4{'-double' if model_args.use_bnb_nested_quant else ''}"
    else:
        quantization = str(model_args.dtype or "float32")
    return {
        "model": model_args.model_name_or_path,
        "quantization": quantization,
        "attn_implementation": model_args.attn_implementation,
        "max_length": training_args.max_length,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "activation_checkpointing": bool(training_args.activation_checkpointing),
    }


def find_measured(key: dict[str, Any], gpu: str | None = None, folder: Path | None = None) -> dict | None:
    """{"tokens_per_second", "machine", "report"} from the first report row matching `key` (and `gpu`, a
    substring of the report's GPU name, when given), else None. Reports are read in name order."""
    folder = MEASURED_DIR if folder is None else folder
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        report = read_json_object(path)
        machine = report.get("machine", {})
        if gpu and gpu.lower() not in str(machine.get("gpu", "")).lower():
            continue
        for row in report.get("results", []):
            if all(row.get(field) == key[field] for field in MATCH_KEY):
                return {"tokens_per_second": row["tokens_per_second"], "machine": machine, "report": path.name}
    return None


def estimate(
    report: list[SourceLengths], epochs: float, tokens_per_second: float, measured: dict | None = None
) -> dict:
    """`measured` (from find_measured) replaces `tokens_per_second` and names the machine that measured it."""
    if measured is not None:
        result = estimate(report, epochs, measured["tokens_per_second"])
        machine = measured["machine"]
        result["assumption"] = (
            f"measured by bench/bench_train_throughput.py on {machine.get('gpu', 'an unnamed GPU')} "
            f"(bench/results/{measured['report']}), matching the recipe on {', '.join(MATCH_KEY)}"
        )
        return result
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
        f"at {result['tokens_per_second']:,.0f} tokens/s -> {result['hours']} h on one GPU.\n"
        f"Throughput: {result['assumption']}"
    )
