"""Rewards for DACR document reasoning (dacr-traces rows, column `gold_answers`).

Each `gold_answers` entry holds a question's id, text, gold answer and aliases, the planted and
correct value of the trap it targets, and its evidence paragraphs (see
`crosstrace/engine/records.py`). The answers are read from the completion exactly as
`evaluate.py` reads them (`crosstrace.scoring.dacr_parse.extract_answers`). All three rewards
return None on rows without gold answers (other datasets; upstream rows, which carry none).

- `dacr_answers`: the fraction of the row's questions answered correctly under the strict rule
  (`crosstrace.scoring.dacr_strict`), trap-aware: an answer stating the trap's planted value is
  wrong even where it rounds to the gold. Degenerate, hence 0: anything without a readable
  answer per question, and hedges (several candidate values, every number of the document,
  echoing the question), which the strict rule marks wrong.
- `dacr_citation`: the fraction of the questions with evidence paragraphs whose citation names at
  least one paragraph number ("[P7]", "paragraph 7") and only evidence paragraphs. Naming a
  paragraph that holds no evidence (the planted statement of a trap, or every paragraph) earns 0
  for that question; a citation without paragraph numbers earns 0.
- `dacr_format`: the fraction of the row's questions that have a well-formed entry in one JSON
  object that ends the completion (nothing after it) and parses as strict JSON: an object with
  an `answer` string holding a letter or digit, a `citation` string and a `confidence` number
  in [0, 1]. No such final object: 0 (the prompt's own example, answers "...", earns 0).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from crosstrace.rewards.base import column, text_of
from crosstrace.rewards.scorer import answer_is_correct, cited_paragraphs, extract_answers

_HAS_WORD = re.compile(r"\w")


def _rows(columns: dict[str, Any], completions) -> list[tuple[str, list[dict[str, Any]] | None]]:
    golds = column(columns, "gold_answers", len(completions))
    return [(text_of(c), g or None) for c, g in zip(completions, golds, strict=True)]


def answers_score(text: str, golds: list[dict[str, Any]]) -> float:
    answers, _ = extract_answers(text, [g["question_id"] for g in golds])
    correct = sum(
        answer_is_correct(g, answers[g["question_id"]]["answer"]) for g in golds if g["question_id"] in answers
    )
    return correct / len(golds)


def citation_score(text: str, golds: list[dict[str, Any]]) -> float | None:
    scorable = [g for g in golds if g.get("evidence_paragraphs")]
    if not scorable:
        return None
    answers, _ = extract_answers(text, [g["question_id"] for g in golds])
    grounded = 0
    for gold in scorable:
        entry = answers.get(gold["question_id"])
        cited = cited_paragraphs(entry["citation"]) if entry else set()
        grounded += bool(cited) and cited <= set(gold["evidence_paragraphs"])
    return grounded / len(scorable)


def final_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object that ends `text` (strict JSON, nothing but whitespace after it), or None."""
    stripped = text.rstrip()
    if not stripped.endswith("}"):
        return None
    decoder = json.JSONDecoder()
    position = stripped.find("{")
    while position >= 0:
        try:
            parsed, end = decoder.raw_decode(stripped, position)
        except json.JSONDecodeError:
            parsed, end = None, -1
        if end == len(stripped) and isinstance(parsed, dict):
            return parsed
        position = stripped.find("{", position + 1)
    return None


def _well_formed(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    answer, citation, confidence = entry.get("answer"), entry.get("citation"), entry.get("confidence")
    return (
        isinstance(answer, str)
        and bool(_HAS_WORD.search(answer))
        and isinstance(citation, str)
        and isinstance(confidence, (int, float))
        and not isinstance(confidence, bool)
        and math.isfinite(confidence)
        and 0.0 <= confidence <= 1.0
    )


def format_score(text: str, golds: list[dict[str, Any]]) -> float:
    final = final_json_object(text)
    if final is None:
        return 0.0
    return sum(_well_formed(final.get(g["question_id"])) for g in golds) / len(golds)


def dacr_answers(prompts, completions, **columns) -> list[float | None]:
    """Fraction of questions answered correctly under the strict, trap-aware rule; None without `gold_answers`."""
    return [None if golds is None else answers_score(text, golds) for text, golds in _rows(columns, completions)]


def dacr_citation(prompts, completions, **columns) -> list[float | None]:
    """Fraction of evidence-bearing questions whose citation names only (and some) evidence paragraphs."""
    return [None if golds is None else citation_score(text, golds) for text, golds in _rows(columns, completions)]


def dacr_format(prompts, completions, **columns) -> list[float | None]:
    """Fraction of questions with a well-formed entry in the strict-JSON object that ends the completion."""
    return [None if golds is None else format_score(text, golds) for text, golds in _rows(columns, completions)]
