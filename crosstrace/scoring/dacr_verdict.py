"""The verdict on one answer to one DACR question, as `score_dacr` gives it (e.g. for RL rewards).

    from crosstrace.scoring.dacr_verdict import judge_answer
    verdict = judge_answer(question, "12 datasets")                     # strict by default
    verdict = judge_answer(question, answer, trap=trap, mode="reference")
    verdict.correct, verdict.rule, verdict.trap                          # True, "value", None

`question` is a DACR-Bench question dict (goldAnswer, goldAnswerAliases, text, targetsTrap...);
`trap` is the challenge's trap the question targets (its `trapId` is the question's
`targetsTrap`), or None to judge without one. The verdict is exactly the `correct`, `match`
and `trap` of the sample row `score_dacr` writes for that answer (tests check this): the same
rules object (`dacr_rules`) and the same prepared question (`dacr_prepare`), whose strict gold
forms are cached by content, so judging many answers to one question parses its gold once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crosstrace.scoring.dacr_prepare import PreparedQuestion
from crosstrace.scoring.dacr_rules import rules_for


@dataclass(frozen=True)
class Verdict:
    """One answer's verdict.

    - `correct`: whether the answer is right under the mode's rule;
    - `rule`: what decided. Strict: "exact", "alias", "value", "text_f1" (correct); "empty",
      "no_value", "foreign_value", "missing_value", "text_mismatch", "trap_value" (wrong), as
      `dacr_strict` defines them. Reference: "exact", "normalized", "numeric", "partial" or "none";
    - `trap`: "fell" (took the planted value), "evaded" (took the authoritative side) or None
      (no trap, or the answer takes no side)."""

    correct: bool
    rule: str
    trap: str | None

    @property
    def fell_for_trap(self) -> bool:
        return self.trap == "fell"

    @property
    def evaded_trap(self) -> bool:
        return self.trap == "evaded"


def judge_answer(
    question: dict[str, Any], answer: str, *, mode: str = "strict", trap: dict[str, Any] | None = None
) -> Verdict:
    """The verdict on `answer` to `question` under `mode` ("strict" or "reference").

    Raises ValueError for an unknown mode or a trap the question does not target, TypeError
    when `answer` is not a string (an empty string is an answer: wrong)."""
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a string, got {type(answer).__name__}")
    rules = rules_for(mode)
    traps = {}
    if trap is not None:
        if not question.get("targetsTrap") or trap.get("trapId") != question.get("targetsTrap"):
            raise ValueError(
                f"trap {trap.get('trapId')!r} is not the one question {question.get('questionId')!r} targets "
                f"(targetsTrap: {question.get('targetsTrap')!r}); pass that trap, or none"
            )
        traps[trap["trapId"]] = trap
    correct, rule, side = PreparedQuestion(question, traps, rules).judge(answer)
    return Verdict(correct, rule, side)
