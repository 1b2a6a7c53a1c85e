"""The multiple-choice format shared by training, evaluation and the builders.

- `LETTERS`: the option letters A-J (WildSci's ten options; a question may use a prefix A..x);
- `render_mcq_prompt`: the prompt a model is asked with, which asks for a final line `Answer: X`;
- `ANSWER_LINE`: that final line; the training target of an MCQ row, and the continuation whose
  log-probability `--mcq_scoring loglik` compares across options;
- `check_mcq_record`: the checks a record must pass before it is asked or trained on (WildSci's stricter
  ones build on it: `crosstrace.mcq.record.check_question`);
- `extract_letter`: the single letter a free-form answer commits to (MCQ_VERSION's rule, described
  in `crosstrace.scoring.mcq`).

Training on exactly the prompt evaluation asks with, and the line its scorer reads, is the point
of keeping these in one place.
"""

from __future__ import annotations

import re
from typing import Any

from crosstrace.schema import SchemaError

LETTERS = "ABCDEFGHIJ"
ANSWER_LINE = "Answer: {letter}"

MCQ_TEMPLATE = """Answer the following multiple-choice question. Exactly one of the options is correct.

Question: {question}

Options:
{options}

You may reason briefly first. Then give your final answer on the last line, in the form "Answer: X", where X is the letter of the correct option."""


def render_mcq_prompt(record: dict[str, Any]) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in record["options"].items())
    return MCQ_TEMPLATE.replace("{question}", record["question"].strip()).replace("{options}", options)


def check_mcq_record(record: dict[str, Any], all_letters: bool = False) -> dict[str, Any]:
    """A WildSci-format record with its options in letter order; raises SchemaError naming the field.

    Options are consecutive letters from A (2 to 10 of them; a null option is absent), or, with
    `all_letters`, exactly the ten A-J."""
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise SchemaError("question", "missing or empty")
    options = record.get("options")
    if not isinstance(options, dict):
        raise SchemaError("options", f"expected an object of letter -> text, got {type(options).__name__}")
    present = {k: v for k, v in options.items() if v is not None}
    letters = "".join(sorted(present))
    if all_letters and letters != LETTERS:
        raise SchemaError("options", f"expected exactly ten options A-J, got {sorted(present)}")
    if len(letters) < 2 or not LETTERS.startswith(letters):
        raise SchemaError("options", f"expected consecutive letters from A (up to J), got {sorted(present)}")
    for letter, text in present.items():
        if not isinstance(text, str) or not text.strip():
            raise SchemaError(f"options.{letter}", "missing or empty")
    answer = record.get("answer")
    if not isinstance(answer, str) or answer not in present:
        raise SchemaError("answer", f"expected one of the option letters {letters}, got {answer!r}")
    return {**record, "options": {letter: present[letter] for letter in letters}}


def answer_line(letter: str) -> str:
    return ANSWER_LINE.format(letter=letter)


_L = f"[{LETTERS}]"
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
# One letter as an answer names it: "C", "(C)", "**C**", "[C]", "C)", "C."
_LETTER_TOKEN = rf"[\(\[\*]*\s*({_L})\s*[\)\]\*]*(?![\w])"
_STATEMENT = re.compile(
    r"(?:final\s+answer|correct\s+(?:answer|option|choice)|best\s+(?:answer|option|choice)|answer|\b(?:pick|choose|select))"
    r"(?:\s+(?:is|would\s+be|will\s+be|should\s+be|must\s+be))?\s*(?:[:=]|is)?\s*"
    rf"(?P<body>{_LETTER_TOKEN}(?:\s*(?:,|/|or|and|&)\s*{_LETTER_TOKEN})*)",
    re.IGNORECASE,
)
_OPTION_IS_CORRECT = re.compile(rf"\boption\s+{_LETTER_TOKEN}\s+is\s+(?:the\s+)?correct", re.IGNORECASE)
_BOXED = re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?\s*({_L})\s*\}}", re.IGNORECASE)
_BARE = re.compile(rf"^\s*[\(\[\*]*\s*({_L})\s*[\)\]\*]*\s*(?:[.:)\-]\s*.*)?$", re.DOTALL)
_LETTER_IN = re.compile(rf"(?<![A-Za-z])({_L})(?![A-Za-z])")


def extract_letter(text: str) -> str | None:
    """The single option letter (A-J) a model's output commits to, or None."""
    if not isinstance(text, str):
        return None
    text = _THINK.sub("", text)
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>") :]
    text = text.strip()
    if not text:
        return None
    statements: list[tuple[int, set[str]]] = []
    for match in _BOXED.finditer(text):
        statements.append((match.start(), {match.group(1).upper()}))
    for match in _OPTION_IS_CORRECT.finditer(text):
        statements.append((match.start(), {match.group(1).upper()}))
    for match in _STATEMENT.finditer(text):
        body = match.group("body")
        letters = {letter.upper() for letter in _LETTER_IN.findall(body.upper())}
        # A lowercase "a" after "answer is" is an article ("the answer is a mix of..."), not option A.
        if body.strip("()[]* ") == "a":
            continue
        statements.append((match.start(), letters))
    if statements:
        _, letters = max(statements, key=lambda item: item[0])
        return next(iter(letters)) if len(letters) == 1 else None
    bare = _BARE.match(text)
    if bare and (len(text) <= 3 or text[1:2] in ".:) " or text[0] in "([*"):
        return bare.group(1).upper()
    return None
