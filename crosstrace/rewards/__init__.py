"""Verifiable rewards for the CrossTrace datasets, in TRL's reward signature.

    from crosstrace.rewards import REWARDS
    REWARDS["mcq_letter"](prompts=[...], completions=[...], answer=["C", ...])   # -> [1.0, ...]

Each reward is a plain function `f(prompts, completions, **columns) -> list[float | None]` (TRL's
GRPOTrainer passes the dataset's columns as keyword arguments; any framework can call it the
same way). Rewards lie in [0, 1]; None means "this row is not mine" (a row of another dataset).
Each module's docstring defines its rewards exactly, including what counts as degenerate;
`crosstrace.rewards.audit` checks that degenerate completions earn (almost) nothing.

| reward | dataset | columns read |
| --- | --- | --- |
| `mcq_letter` | mcq | `answer` |
| `dacr_answers`, `dacr_citation`, `dacr_format` | dacr-traces | `gold_answers` |
| `crosstrace_structure`, `crosstrace_similarity` | crosstrace | `hypothesis`, `approach` |

May import the core modules and `scoring/` (a reward judges with the same code as evaluate.py);
imported by `training/` (GRPO), never importing it.
"""

from __future__ import annotations

from collections.abc import Callable

from crosstrace.rewards.crosstrace import crosstrace_similarity, crosstrace_structure
from crosstrace.rewards.dacr import dacr_answers, dacr_citation, dacr_format
from crosstrace.rewards.mcq import mcq_letter

RewardFunction = Callable[..., list[float | None]]

REWARDS: dict[str, RewardFunction] = {
    "mcq_letter": mcq_letter,
    "dacr_answers": dacr_answers,
    "dacr_citation": dacr_citation,
    "dacr_format": dacr_format,
    "crosstrace_structure": crosstrace_structure,
    "crosstrace_similarity": crosstrace_similarity,
}

# The columns each reward reads: the mixture passes these through to GRPO rows.
REWARD_COLUMNS: dict[str, tuple[str, ...]] = {
    "mcq_letter": ("answer",),
    "dacr_answers": ("gold_answers",),
    "dacr_citation": ("gold_answers",),
    "dacr_format": ("gold_answers",),
    "crosstrace_structure": ("hypothesis", "approach"),
    "crosstrace_similarity": ("hypothesis", "approach"),
}
