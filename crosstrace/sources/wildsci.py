"""Reader for WildSci's own questions (JustinTX/WildSci, CC BY 4.0; arXiv 2601.05567).

WildSci ships one `train` split as JSON Lines (`wildsci.jsonl`, about 56.8K questions), one
object per line: `question`, `options` (exactly the ten keys A-J), `answer` (one letter),
`paper_id`, `discipline`, `nc_domain`, `nc_subdomain`, `voting_type`, `voting_answers`.
The file is not redistributed here; a user who has it passes its path:

    python -m crosstrace.builders mcq --wildsci path/to/wildsci.jsonl --out build/mcq

    from crosstrace.errors import ErrorPolicy
    from crosstrace.sources.wildsci import read_wildsci
    questions = read_wildsci("wildsci.jsonl", ErrorPolicy("skip"))

A line is rejected (a `DataError` naming the line and the field; skipped and counted under
`ErrorPolicy("skip")`) when the question is empty, the options are not exactly A-J with ten
non-empty texts, two options have the same text (the letter reward could not tell them
apart), the answer is not one of A-J, or a label or vote field has the wrong type. Records
keep WildSci's fields as they are (letters included) and gain `id` (`wildsci/<line>`, stable
for a given file) and `source` ("wildsci").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import iter_jsonl
from crosstrace.mcq.format import is_letter
from crosstrace.mcq.record import LETTERS

SOURCE = "wildsci"
_LABEL_FIELDS = ("paper_id", "discipline", "nc_domain", "nc_subdomain", "voting_type")


class _BadField(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _question(obj: dict[str, Any]) -> str:
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _BadField(
            "question",
            "missing or empty" if question in (None, "") else f"expected a string, got {type(question).__name__}",
        )
    return question


def _options(obj: dict[str, Any]) -> dict[str, str]:
    options = obj.get("options")
    if not isinstance(options, dict):
        raise _BadField("options", f"expected an object with the keys A-J, got {type(options).__name__}")
    keys = sorted(options)
    if keys != list(LETTERS):
        extra = [key for key in keys if key not in LETTERS]
        absent = [letter for letter in LETTERS if letter not in options]
        detail = "; ".join(
            part for part in (f"missing {absent}" if absent else "", f"unexpected {extra}" if extra else "") if part
        )
        raise _BadField("options", f"expected exactly ten options A-J ({detail})")
    seen: dict[str, str] = {}
    for letter in LETTERS:
        text = options[letter]
        if not isinstance(text, str) or not text.strip():
            raise _BadField(f"options.{letter}", "expected a non-empty string")
        key = " ".join(text.split()).lower()
        if key in seen:
            raise _BadField(f"options.{letter}", f"same text as option {seen[key]}")
        seen[key] = letter
    return {letter: options[letter] for letter in LETTERS}


def _answer(obj: dict[str, Any]) -> str:
    answer = obj.get("answer")
    if not is_letter(answer):
        raise _BadField("answer", f"expected one letter A-J, got {answer!r}")
    return answer


def _labels(obj: dict[str, Any]) -> dict[str, Any]:
    labels = {}
    for name in _LABEL_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise _BadField(name, f"expected a string or null, got {type(value).__name__}")
        labels[name] = value
    votes = obj.get("voting_answers")
    if votes is not None and not (isinstance(votes, list) and all(isinstance(vote, str) for vote in votes)):
        raise _BadField("voting_answers", "expected a list of strings (the models' answers) or null")
    labels["voting_answers"] = votes
    return labels


def parse_wildsci_line(obj: dict[str, Any], line_number: int) -> dict[str, Any]:
    """One WildSci object as a question record; raises `_BadField` naming the field."""
    return {
        "id": f"{SOURCE}/{line_number:06d}",
        "source": SOURCE,
        "question": _question(obj),
        "options": _options(obj),
        "answer": _answer(obj),
        **_labels(obj),
    }


def read_wildsci(path: str | Path, policy: ErrorPolicy | None = None) -> list[dict[str, Any]]:
    """Every valid question of a WildSci JSON Lines file, in file order."""
    policy = policy if policy is not None else ErrorPolicy()
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, None, "file not found (expected WildSci's wildsci.jsonl, JSON Lines)")
    records = []
    for line_number, obj in iter_jsonl(path, policy, unique=True, text_only=True):
        try:
            records.append(parse_wildsci_line(obj, line_number))
        except _BadField as error:
            policy.handle(DataError(path, line_number, error.field, error.reason))
    return records
