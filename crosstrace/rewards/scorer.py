"""Everything the rewards take from the project's scorers, in one place.

Rewards must judge exactly as `evaluate.py` scores, so they call the scoring code rather than
re-implementing it: `answer_is_correct` is the strict DACR verdict (`judge_answer`) on one answer.
"""

from __future__ import annotations

from typing import Any

from crosstrace.scoring.dacr_citation import paragraph_numbers
from crosstrace.scoring.dacr_parse import extract_answers
from crosstrace.scoring.dacr_verdict import judge_answer
from crosstrace.scoring.mcq import LETTERS, extract_letter

__all__ = ["LETTERS", "answer_is_correct", "cited_paragraphs", "extract_answers", "extract_letter"]

_TRAP_ID = "trap"  # a dacr-traces row carries one trap per question, so any fixed id links the two


def answer_is_correct(gold: dict[str, Any], answer: str) -> bool:
    """The strict rule's verdict (trap-aware, `crosstrace.scoring.dacr_verdict.judge_answer`) on one
    answer to one question of a dacr-traces `gold_answers` entry."""
    planted, correct = gold.get("trap_planted_value"), gold.get("trap_correct_value")
    has_trap = planted is not None and correct is not None
    question = {
        "text": gold["question"],
        "goldAnswer": gold["answer"],
        "goldAnswerAliases": list(gold.get("aliases") or ()),
        "targetsTrap": _TRAP_ID if has_trap else None,
    }
    trap = {"trapId": _TRAP_ID, "wrongValue": planted, "correctValue": correct} if has_trap else None
    return judge_answer(question, answer, trap=trap).correct


def cited_paragraphs(citation: str) -> set[int]:
    """The paragraph numbers a citation names ("[P7]", "paragraphs 3, 7 and 9", "¶ 4-5"), as the
    strict citation score reads them."""
    return paragraph_numbers(citation)
