"""Gaming audit: what degenerate completions earn on each reward, next to the gold completion.

    from crosstrace.rewards.audit import audit, format_table
    print(format_table(audit(rows, ["mcq_letter", "dacr_answers"])))

`rows` are GRPO rows: `prompt` (messages), `completion` (the gold/reference answer, messages),
the reward columns. Each strategy below is a completion made from the row's prompt alone, with no
knowledge of the gold answer; a reward passes the audit when every strategy's mean earns at most
`DEGENERATE_CEILING` of the maximum and the gold completions earn the maximum. Exceptions, by
definition: a constant single letter earns chance on MCQ (1/10), and a completion in the answer
JSON format is well formed, so `dacr_format` pays it (`FORMATTED_STRATEGIES`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crosstrace.rewards import REWARDS
from crosstrace.rewards.base import MAX_REWARD, text_of

DEGENERATE_CEILING = 0.05
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUESTION_ID = re.compile(r"^(q\d+):", re.MULTILINE)
SECTION_HEADERS = "Core insight:\n\nReasoning:\n\nHypothesis:\n\nApproach:"


def _prompt_text(prompt: Any) -> str:
    return "\n\n".join(m["content"] for m in prompt) if isinstance(prompt, list) else str(prompt)


def _numbers(prompt: Any) -> list[str]:
    return _NUMBER.findall(_prompt_text(prompt))


def _every_number_as_each_answer(prompt: Any) -> str:
    """The answer JSON for every question id in the prompt, each answer listing every number of
    the document and citing every paragraph: hedging inside a well-formed reply."""
    text = _prompt_text(prompt)
    numbers = " ".join(dict.fromkeys(_numbers(prompt)))
    paragraphs = ", ".join(str(n) for n in range(1, 1 + text.count("[P")))
    entry = {"answer": numbers, "citation": f"paragraphs {paragraphs}", "confidence": 0.5}
    return json.dumps({qid: entry for qid in dict.fromkeys(_QUESTION_ID.findall(text))}, indent=1)


STRATEGIES: dict[str, Callable[[Any], str]] = {
    "empty": lambda prompt: "",
    "one letter": lambda prompt: "A",
    "all ten letters": lambda prompt: "A B C D E F G H I J",
    "'Answer: A' repeated": lambda prompt: "\n".join(["Answer: A"] * 20),
    "prompt echoed": lambda prompt: prompt[-1]["content"] if isinstance(prompt, list) else str(prompt),
    "every number of the document": lambda prompt: " ".join(_numbers(prompt)),
    "section headers, no content": lambda prompt: SECTION_HEADERS,
    "every number as each JSON answer": _every_number_as_each_answer,
}
# Strategies a reward may pay by its definition: a constant letter earns chance on MCQ, and a
# reply in the answer JSON format is well formed.
CHANCE_STRATEGIES = {"mcq_letter": {"one letter", "'Answer: A' repeated"}}
FORMATTED_STRATEGIES = {"dacr_format": {"every number as each JSON answer"}}
GOLD = "gold completion"


@dataclass
class AuditCell:
    strategy: str
    reward: str
    mean: float | None  # mean over the rows the reward applies to; None when it applies to none
    rows: int

    @property
    def exempt(self) -> bool:
        return self.strategy in CHANCE_STRATEGIES.get(self.reward, set()) | FORMATTED_STRATEGIES.get(
            self.reward, set()
        )

    @property
    def passes(self) -> bool:
        if self.mean is None:
            return True
        if self.strategy == GOLD:
            return self.mean >= MAX_REWARD - 1e-6
        return self.exempt or self.mean <= DEGENERATE_CEILING * MAX_REWARD


def _columns(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    names = {name for row in rows for name in row if name not in ("prompt", "completion")}
    return {name: [row.get(name) for row in rows] for name in sorted(names)}


def audit(rows: Sequence[dict[str, Any]], rewards: Sequence[str]) -> list[AuditCell]:
    """Every strategy (and the gold completion) scored by every reward over `rows`."""
    prompts = [row["prompt"] for row in rows]
    columns = _columns(rows)
    completions = {GOLD: [text_of(row["completion"]) for row in rows]}
    completions |= {name: [make(p) for p in prompts] for name, make in STRATEGIES.items()}
    cells = []
    for strategy, texts in completions.items():
        for reward in rewards:
            values = [v for v in REWARDS[reward](prompts=prompts, completions=texts, **columns) if v is not None]
            cells.append(AuditCell(strategy, reward, sum(values) / len(values) if values else None, len(values)))
    return cells


def format_table(cells: Sequence[AuditCell]) -> str:
    """A Markdown table: one row per strategy, one column per reward (mean / max; * = exempt, ! = fails)."""
    rewards = list(dict.fromkeys(c.reward for c in cells))
    strategies = list(dict.fromkeys(c.strategy for c in cells))
    by_key = {(c.strategy, c.reward): c for c in cells}
    lines = ["| completion | " + " | ".join(rewards) + " |", "| --- |" + " ---: |" * len(rewards)]
    for strategy in strategies:
        row = []
        for reward in rewards:
            cell = by_key[(strategy, reward)]
            mark = "" if cell.passes and not cell.exempt else ("*" if cell.passes else " !")
            row.append("n/a" if cell.mean is None else f"{cell.mean:.3f}{mark}")
        lines.append(f"| {strategy} | " + " | ".join(row) + " |")
    return "\n".join(lines)
