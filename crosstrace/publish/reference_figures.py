"""Figures the upstream projects published (docs/upstream-formats.md), shown as a labelled reference.

They come from other evaluation sets, scorers and training runs than ours, so the cards print
them in their own table, never in a column beside our measured numbers. Values are fractions,
as in our results files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceFigure:
    metric: str
    base: float
    fine_tuned: float


@dataclass(frozen=True)
class ReferenceSet:
    task: str
    title: str
    setting: str
    figures: tuple[ReferenceFigure, ...]


REFERENCE_SETS: tuple[ReferenceSet, ...] = (
    ReferenceSet(
        task="dacr",
        title="DACR-Bench, as published in “Synthetic Traces, Real Reasoning”",
        setting=(
            "Qwen2.5-7B-Instruct before and after QLoRA (4-bit NF4, r 32, alpha 64, completion-only loss, 4,421 traces, "
            "1 epoch); 9 real challenges, 90 questions; upstream's lenient reference scorer"
        ),
        figures=(
            ReferenceFigure("accuracy", 0.189, 0.400),
            ReferenceFigure("pass_rate (0/9 -> 4/9 challenges)", 0.0, 4 / 9),
            ReferenceFigure("cars (accuracy on conflict questions)", 0.077, 0.462),
            ReferenceFigure("direct_extraction", 0.583, 0.583),
            ReferenceFigure("multi_hop_bridge", 0.056, 0.333),
            ReferenceFigure("computation", 0.0, 0.286),
            ReferenceFigure("conditional_filtered", 0.0, 0.429),
            ReferenceFigure("cross_section_synthesis", 0.0, 0.400),
        ),
    ),
    ReferenceSet(
        task="crosstrace",
        title="CrossTrace, as published by its authors",
        setting="Qwen2.5-7B-Instruct before and after the upstream “balanced” QLoRA run; IAScore by LLM judges",
        figures=(
            ReferenceFigure("IAScore (GPT-4o judge)", 0.828, 0.968),
            ReferenceFigure("IAScore (Claude judge)", 0.716, 0.888),
            ReferenceFigure("spark cosine similarity", 0.221, 0.620),
            ReferenceFigure("structural compliance", 0.0, 1.0),
        ),
    ),
    ReferenceSet(
        task="mcq",
        title="WildSci, as published (arXiv 2601.05567)",
        setting="Qwen2.5-1.5B-Instruct (a smaller model than ours) before and after GRPO on WildSci; WildSci-Val accuracy",
        figures=(ReferenceFigure("accuracy", 0.4670, 0.8048),),
    ),
)
