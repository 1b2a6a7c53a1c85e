"""Token lengths of the mixture, measured with the training tokenizer before anything is trained.

TRL cuts every example to `max_length` (1024 by default) from the end: a long DACR document would
silently lose its whole completion, and the model would be trained on prompts alone. So before
training we render each row exactly as TRL will (the chat template over prompt + completion),
count its tokens, and report per source how many rows exceed `max_length` and by how much. Rows
that do not fit stop the run unless the recipe asks to drop them (`drop_overlong: true`), in
which case they are dropped and counted: never truncated.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from crosstrace.training.mixture import COMPLETION, PROMPT, SOURCE

TOTAL_TOKENS, PROMPT_TOKENS = "total_tokens", "prompt_tokens"


def add_token_lengths(dataset, tokenizer, batch_size: int = 256):
    """Add `prompt_tokens` and `total_tokens`: the lengths TRL's tokenization will give each row.

    TRL tokenizes a conversational prompt/completion pair as the chat template of prompt (with the
    generation prompt) and of prompt + completion; rendering to text and tokenizing without added
    special tokens gives the same ids, in fast batches.
    """

    def measure(batch):
        prompts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in batch[PROMPT]]
        fulls = [
            tokenizer.apply_chat_template(p + c, tokenize=False)
            for p, c in zip(batch[PROMPT], batch[COMPLETION], strict=True)
        ]
        encoded = tokenizer(prompts + fulls, add_special_tokens=False)["input_ids"]
        n = len(prompts)
        return {PROMPT_TOKENS: [len(ids) for ids in encoded[:n]], TOTAL_TOKENS: [len(ids) for ids in encoded[n:]]}

    return dataset.map(
        measure, batched=True, batch_size=batch_size, desc="Counting tokens with the training tokenizer"
    )


@dataclass
class SourceLengths:
    """Token statistics of one source against `max_length`."""

    source: str
    rows: int
    tokens: int
    mean: float
    p50: int
    p95: int
    max: int
    over: int  # rows longer than max_length
    over_max_by: int  # the largest excess, in tokens
    over_mean_by: float  # mean excess of the rows over
    prompt_alone_over: (
        int  # rows whose prompt alone does not fit: not even the first completion token would be trained
    )


def _percentile(sorted_values: list[int], q: float) -> int:
    # nearest-rank percentile: a value that occurs in the data
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def length_report(dataset, max_length: int | None) -> list[SourceLengths]:
    """Per-source statistics of a dataset that has `source`, `prompt_tokens` and `total_tokens`."""
    by_source: dict[str, list[tuple[int, int]]] = {}
    for source, prompt_len, total in zip(dataset[SOURCE], dataset[PROMPT_TOKENS], dataset[TOTAL_TOKENS], strict=True):
        by_source.setdefault(source, []).append((prompt_len, total))
    limit = max_length if max_length is not None else math.inf
    report = []
    for source, pairs in by_source.items():
        totals = sorted(total for _, total in pairs)
        excess = [total - limit for total in totals if total > limit]
        report.append(
            SourceLengths(
                source=source,
                rows=len(totals),
                tokens=sum(totals),
                mean=round(sum(totals) / len(totals), 1),
                p50=_percentile(totals, 50),
                p95=_percentile(totals, 95),
                max=totals[-1],
                over=len(excess),
                over_max_by=int(max(excess, default=0)),
                over_mean_by=round(sum(excess) / len(excess), 1) if excess else 0.0,
                prompt_alone_over=sum(1 for prompt_len, _ in pairs if prompt_len >= limit),
            )
        )
    return report


def format_report(report: list[SourceLengths], max_length: int | None) -> str:
    header = f"Token lengths per source (max_length={max_length}):"
    columns = (
        "source",
        "rows",
        "tokens",
        "mean",
        "p50",
        "p95",
        "max",
        "over",
        "over_max_by",
        "over_mean_by",
        "prompt_alone_over",
    )
    table = [columns, *[tuple(str(asdict(r)[c]) for c in columns) for r in report]]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    lines = ["  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    return "\n".join([header, *lines])


class OverlongError(ValueError):
    """Some rows do not fit in max_length; training them would cut their completions."""


def enforce_max_length(dataset, report: list[SourceLengths], max_length: int | None, drop_overlong: bool):
    """The dataset with nothing longer than `max_length`: unchanged when all fit, the long rows
    dropped when `drop_overlong`, otherwise an OverlongError that says what to do."""
    over = {r.source: r for r in report if r.over}
    if max_length is None or not over:
        return dataset, 0
    if not drop_overlong:
        detail = "; ".join(
            f"{s}: {r.over} of {r.rows} rows, up to {r.over_max_by} tokens over" for s, r in over.items()
        )
        needed = max(r.max for r in report)
        raise OverlongError(
            f"{sum(r.over for r in over.values())} rows are longer than max_length={max_length} ({detail}). "
            f"TRL would cut them and lose (part of) their completions. Raise max_length (the longest row has {needed} tokens), "
            "or set drop_overlong: true to drop them (they are counted in the run metadata)."
        )
    kept = dataset.filter(
        lambda total: total <= max_length, input_columns=TOTAL_TOKENS, desc="Dropping rows longer than max_length"
    )
    return kept, len(dataset) - len(kept)


def suggest_max_length(report: list[SourceLengths], multiple: int = 256) -> int:
    """The smallest multiple of `multiple` that fits every row (a round size keeps kernels and memory predictable)."""
    longest = max(r.max for r in report)
    return int(math.ceil(longest / multiple) * multiple)
