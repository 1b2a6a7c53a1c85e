"""The question record: WildSci's format exactly, plus `id` and `source`.

WildSci (JustinTX/WildSci, CC BY 4.0) stores one question per line as
`question`, `options` (a dict with exactly the ten keys A-J), `answer` (one letter),
`paper_id`, `discipline`, `nc_domain`, `nc_subdomain`, `voting_type`, `voting_answers`.
Our generators write the same fields, so one loader, one scorer and one reward function serve
WildSci's own questions and ours. `id` is stable across rebuilds and `source` names the
generator (e.g. `crosstrace/hypothesis_matching`), so every audit can be broken down by it.

The votes (`voting_type`, `voting_answers`) record how eight models answered each WildSci
question; nobody voted on ours, so they stay null rather than being invented.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from crosstrace.mcq.format import LETTERS, is_letter

NUM_OPTIONS = len(LETTERS)

WILDSCI_FIELDS = (
    "question",
    "options",
    "answer",
    "paper_id",
    "discipline",
    "nc_domain",
    "nc_subdomain",
    "voting_type",
    "voting_answers",
)
COLUMNS = ("id", "source", *WILDSCI_FIELDS)

# One explicit schema for every config: `options` is a struct with the fields A-J, which is
# what `datasets` infers from WildSci's own JSON, so both load into the same features.
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("options", pa.struct([pa.field(letter, pa.string()) for letter in LETTERS]), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
        pa.field("paper_id", pa.string()),
        pa.field("discipline", pa.string()),
        pa.field("nc_domain", pa.string()),
        pa.field("nc_subdomain", pa.string()),
        pa.field("voting_type", pa.string()),
        pa.field("voting_answers", pa.list_(pa.string())),
    ]
)


def record_problems(record: dict[str, Any]) -> list[str]:
    """Everything wrong with a question record, as `field: reason` strings (empty when valid)."""
    problems = []
    missing = [name for name in COLUMNS if name not in record]
    if missing:
        return [f"{name}: missing" for name in missing]
    for name in ("id", "source", "question"):
        if not isinstance(record[name], str) or not record[name].strip():
            problems.append(f"{name}: expected a non-empty string")
    options = record["options"]
    if not isinstance(options, dict) or tuple(sorted(options)) != tuple(LETTERS):
        keys = sorted(options) if isinstance(options, dict) else type(options).__name__
        problems.append(f"options: expected exactly the keys A-J, got {keys}")
    else:
        texts = [options[letter] for letter in LETTERS]
        if not all(isinstance(text, str) and text.strip() for text in texts):
            problems.append("options: every option must be a non-empty string")
        elif len({" ".join(text.split()).lower() for text in texts}) != NUM_OPTIONS:
            problems.append("options: the ten options are not all different")
    if not is_letter(record["answer"]):
        problems.append(f"answer: expected one letter A-J, got {record['answer']!r}")
    for name in ("paper_id", "discipline", "nc_domain", "nc_subdomain", "voting_type"):
        if record[name] is not None and not isinstance(record[name], str):
            problems.append(f"{name}: expected a string or null, got {type(record[name]).__name__}")
    votes = record["voting_answers"]
    if votes is not None and not (isinstance(votes, list) and all(isinstance(vote, str) for vote in votes)):
        problems.append("voting_answers: expected a list of strings or null")
    return problems
