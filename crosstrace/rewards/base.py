"""What every reward shares: TRL's calling convention, and reading a completion's text.

TRL calls a reward as `f(prompts=..., completions=..., completion_ids=..., **columns)`, where
`columns` holds each dataset column (one value per completion: a prompt's row is repeated once
per generation) plus a few trainer objects (`trainer_state`, `log_extra`, `log_metric`). A
completion is a string, or a list of messages for conversational data. Every reward returns one
float in [0, 1] per completion, or None for a row that carries none of the columns it reads (a
row of another dataset in a mixture): TRL then leaves that reward out for the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_REWARD = 1.0


def text_of(completion: Any) -> str:
    """The completion's text: a string as is, a list of messages as its last message's content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content")
        return content if isinstance(content, str) else ""
    return ""


def column(columns: dict[str, Any], name: str, size: int) -> list[Any]:
    """A dataset column passed by the trainer, or all None when the dataset has no such column."""
    values = columns.get(name)
    if values is None:
        return [None] * size
    if len(values) != size:
        raise ValueError(f"column {name!r} has {len(values)} values for {size} completions")
    return list(values)
