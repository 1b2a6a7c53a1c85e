"""Everything the rewards take from the project's scorers, in one place.

Rewards must judge exactly as `evaluate.py` scores, so they call the scoring code rather than
re-implementing it. `answer_is_correct` is the one adapter onto the strict DACR rule: when
`crosstrace.scoring` gains its per-question verdict function, only its body changes.
"""

from __future__ import annotations

import functools
from typing import Any

from crosstrace.scoring.dacr_citation import _paragraph_numbers
from crosstrace.scoring.dacr_parse import extract_answers
from crosstrace.scoring.dacr_strict import StrictGold, ValueTarget
from crosstrace.scoring.mcq import LETTERS, extract_letter

__all__ = ["LETTERS", "answer_is_correct", "cited_paragraphs", "extract_answers", "extract_letter"]


@functools.lru_cache(maxsize=4096)  # a GRPO group asks about the same question once per generation
def _prepared(
    question: str, answer: str, aliases: tuple[str, ...], planted: str | None, correct: str | None
) -> tuple[StrictGold, ValueTarget | None, ValueTarget | None]:
    gold = StrictGold({"text": question, "goldAnswer": answer, "goldAnswerAliases": list(aliases)})
    # A trap whose planted value equals its correct one cannot be told apart: scored as no trap, as in score_dacr.
    if planted is None or correct is None or planted == correct:
        return gold, None, None
    return gold, ValueTarget(planted), ValueTarget(correct)


def answer_is_correct(gold: dict[str, Any], answer: str) -> bool:
    """The strict rule's verdict (`crosstrace.scoring.dacr_strict`, trap-aware) on one answer to
    one question of a dacr-traces `gold_answers` entry."""
    prepared, planted, correct = _prepared(
        gold["question"],
        gold["answer"],
        tuple(gold.get("aliases") or ()),
        gold.get("trap_planted_value"),
        gold.get("trap_correct_value"),
    )
    return prepared.assess(answer, planted, correct)[0]


def cited_paragraphs(citation: str) -> set[int]:
    """The paragraph numbers a citation names ("[P7]", "paragraphs 3, 7 and 9", "¶ 4-5"), as the
    strict citation score reads them."""
    return _paragraph_numbers(citation)
