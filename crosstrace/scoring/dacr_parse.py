"""Read DACR answers out of a model's raw output.

    from crosstrace.scoring.dacr_parse import extract_answers
    answers, problem = extract_answers(raw_text, question_ids=["q01", "q02"])
    answers["q01"]   # {"answer": str, "citation": str, "confidence": float | None}

Models do not always answer with bare JSON. In order, the reader tries:
1. the JSON object itself, after dropping a reasoning block (`<think>...</think>`) and code
   fences, from the first "{" to its matching "}" (a JSON object inside prose is found too);
2. the same text with common slips repaired: trailing commas, smart quotes, Python literals
   (True/False/None), single-quoted strings;
3. entry by entry: every `"q01": {...}` object that parses on its own, so an output cut off by
   the token limit keeps the answers it completed;
4. lines of the form `q01: answer` (or `[q01] answer`).
`problem` is None for clean JSON and otherwise one sentence naming what was repaired or what
went wrong (for the per-sample record); an unreadable output gives `({}, problem)`.

Keys are mapped onto the challenge's question ids when they are given ("1", "Q1", "question_1"
-> "q01"); without them, numeric keys become "q01"-style ids, DACR-Bench's convention.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

from crosstrace.jsonio import InvalidJSON, loads
from crosstrace.scoring.predictions import Entry, coerce_entry

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*[ \t]*\n?|```")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
# An entry starts where a key does, not inside a longer word or number (the lookbehind also keeps a
# long digit run from being tried at each of its digits: quadratic time on a 5,000-digit number).
_ENTRY_START = re.compile(r"""(?<!\w)["']?((?:q|question)[\s_-]*\d+|\d+)["']?\s*:\s*\{""", re.IGNORECASE)
_LINE_ANSWER = re.compile(
    r"^\s*(?:[-*]\s*)?(?:\[\s*)?((?:q|question)[\s_-]*\d+)(?:\s*\])?\s*[:.)\-–]?\s*(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_KEY_NUMBER = re.compile(r"^(?:q|question)?[\s_-]*0*(\d+)$", re.IGNORECASE)


def _candidate_text(raw: str) -> str:
    text = _THINK.sub("", raw)
    if "</think>" in text.lower():  # an unclosed reasoning block: keep what follows its end
        text = text[text.lower().rindex("</think>") + len("</think>") :]
    return _FENCE.sub("", text)


def _balanced_object(text: str, start: int) -> str | None:
    """The text of the JSON object opening at `start`, by brace matching outside strings."""
    depth, in_string, escaped, quote = 0, False, False, ""
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                in_string = False
        elif char in "\"'":
            in_string, quote = True, char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return None


def _repair(text: str) -> Any:
    """Parse JSON with the usual slips of language models repaired; raises ValueError."""
    text = _TRAILING_COMMA.sub(r"\1", text.translate(_SMART_QUOTES))
    try:
        return loads(text)
    except InvalidJSON:
        pass
    try:  # Python-literal style: single quotes, True/False/None
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


def _objects(text: str):
    """Each top-level JSON object in `text`, as (source, parsed or None, repaired)."""
    position = text.find("{")
    while position >= 0:
        source = _balanced_object(text, position)
        if source is None:
            return
        try:
            yield source, loads(source), False
        except InvalidJSON:
            try:
                yield source, _repair(source), True
            except ValueError:
                yield source, None, False
        position = text.find("{", position + len(source))


def _looks_like_answers(obj: Any) -> bool:
    return isinstance(obj, dict) and any(_KEY_NUMBER.match(str(k).strip()) for k in obj)


def _key_mapper(question_ids: Sequence[str] | None):
    by_number: dict[int, str] = {}
    exact = {}
    for qid in question_ids or []:
        exact[qid.lower()] = qid
        match = _KEY_NUMBER.match(qid)
        if match:
            by_number.setdefault(int(match.group(1)), qid)

    def canonical(key: Any) -> str | None:
        text = str(key).strip()
        if text.lower() in exact:
            return exact[text.lower()]
        match = _KEY_NUMBER.match(text)
        if not match:
            return None if question_ids else text
        number = int(match.group(1))
        if question_ids:
            return by_number.get(number)
        return f"q{number:02d}"

    return canonical


def _collect(mapping: dict[Any, Any], canonical, notes: list[str]) -> dict[str, Entry]:
    answers: dict[str, Entry] = {}
    unknown = []
    for key, value in mapping.items():
        qid = canonical(key)
        if qid is None:
            unknown.append(str(key))
            continue
        if qid in answers:
            notes.append(f"question {qid} answered twice; the first answer is kept")
            continue
        entry, problems = coerce_entry(value)
        notes.extend(f"{qid} {problem}" for problem in problems)
        answers[qid] = entry
    if unknown:
        notes.append(f"keys that are not question ids ignored: {', '.join(unknown[:5])}")
    return answers


def extract_answers(
    raw_model_text: str, question_ids: Sequence[str] | None = None
) -> tuple[dict[str, Entry], str | None]:
    """(answers by question id, a problem sentence or None). Never raises on model output."""
    if not isinstance(raw_model_text, str) or not raw_model_text.strip():
        return {}, "empty output"
    canonical = _key_mapper(question_ids)
    text = _candidate_text(raw_model_text)
    notes: list[str] = []

    for _source, parsed, repaired in _objects(text):
        if _looks_like_answers(parsed):
            if repaired:
                notes.insert(0, "JSON repaired (trailing commas, quotes or Python literals)")
            answers = _collect(parsed, canonical, notes)
            if answers:
                return answers, "; ".join(notes) or None
        elif isinstance(parsed, dict) and len(parsed) == 1 and _looks_like_answers(next(iter(parsed.values()))):
            # {"answers": {"q01": ...}}: one wrapping key
            answers = _collect(next(iter(parsed.values())), canonical, notes)
            if answers:
                notes.insert(0, f"answers were wrapped in {next(iter(parsed))!r}")
                return answers, "; ".join(notes)

    salvaged = _salvage_entries(text, canonical, notes)
    if salvaged:
        return salvaged, "; ".join(["incomplete JSON: answers read entry by entry", *notes])
    from_lines = {}
    for match in _LINE_ANSWER.finditer(text):
        qid = canonical(match.group(1))
        if qid and qid not in from_lines and match.group(2).strip():
            from_lines[qid] = {"answer": match.group(2).strip().strip('"'), "citation": "", "confidence": None}
    if from_lines:
        return from_lines, "no JSON object: answers read from 'qNN: answer' lines"
    return {}, "no JSON object with question ids found in the output"


def _salvage_entries(text: str, canonical, notes: list[str]) -> dict[str, Entry]:
    answers: dict[str, Entry] = {}
    for match in _ENTRY_START.finditer(text):
        source = _balanced_object(text, match.end() - 1)
        if source is None:
            continue
        try:
            value = loads(source)
        except InvalidJSON:
            try:
                value = _repair(source)
            except ValueError:
                continue
        qid = canonical(match.group(1))
        if qid is None or qid in answers:
            continue
        entry, problems = coerce_entry(value)
        notes.extend(f"{qid} {problem}" for problem in problems)
        answers[qid] = entry
    return answers
