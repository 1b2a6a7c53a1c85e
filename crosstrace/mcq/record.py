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

from crosstrace.mcq.format import LETTERS, check_mcq_record
from crosstrace.schema import SchemaError

NUM_OPTIONS = len(LETTERS)

LABEL_FIELDS = ("paper_id", "discipline", "nc_domain", "nc_subdomain", "voting_type")
WILDSCI_FIELDS = ("question", "options", "answer", *LABEL_FIELDS, "voting_answers")
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


def check_question(obj: dict[str, Any]) -> dict[str, Any]:
    """The WildSci fields of a question that follows WildSci's rules; raises SchemaError naming the first field at fault.

    On top of `check_mcq_record` (a non-empty question, options, an answer among them): exactly
    the ten options A-J, no two alike once case and spacing are set aside (the letter reward could
    not tell them apart), and labels and votes that are strings or null. An absent label is null;
    the options come back in letter order.
    """
    record = check_mcq_record(obj, all_letters=True)
    seen: dict[str, str] = {}
    for letter, text in record["options"].items():
        key = " ".join(text.split()).lower()
        if key in seen:
            raise SchemaError(
                f"options.{letter}", f"same text as option {seen[key]}: the options are not all different"
            )
        seen[key] = letter
    labels = {}
    for name in LABEL_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise SchemaError(name, f"expected a string or null, got {type(value).__name__}")
        labels[name] = value
    votes = obj.get("voting_answers")
    if votes is not None and not (isinstance(votes, list) and all(isinstance(vote, str) for vote in votes)):
        raise SchemaError("voting_answers", "expected a list of strings (the models' answers) or null")
    return {
        "question": record["question"],
        "options": record["options"],
        "answer": record["answer"],
        **labels,
        "voting_answers": votes,
    }


def record_problems(record: dict[str, Any]) -> list[str]:
    """What is wrong with a question record, as `field: reason` strings (empty when valid): every
    missing column, else an empty `id` or `source` and the first problem `check_question` finds."""
    missing = [name for name in COLUMNS if name not in record]
    if missing:
        return [f"{name}: missing" for name in missing]
    problems = [
        f"{name}: expected a non-empty string"
        for name in ("id", "source")
        if not isinstance(record[name], str) or not record[name].strip()
    ]
    try:
        check_question(record)
    except SchemaError as error:
        problems.append(str(error))
    return problems
