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

from crosstrace.errors import ErrorPolicy
from crosstrace.mcq.record import check_question
from crosstrace.sources.reader import read_records

SOURCE = "wildsci"


def parse_wildsci_line(obj: dict[str, Any], line_number: int) -> dict[str, Any]:
    """One WildSci object as a question record; raises `SchemaError` naming the field."""
    return {"id": f"{SOURCE}/{line_number:06d}", "source": SOURCE, **check_question(obj)}


def read_wildsci(path: str | Path, policy: ErrorPolicy | None = None) -> list[dict[str, Any]]:
    """Every valid question of a WildSci JSON Lines file, in file order."""
    policy = policy if policy is not None else ErrorPolicy()
    expected = "WildSci's wildsci.jsonl, JSON Lines"
    return read_records(path, policy, expected, parse_wildsci_line, unique=True, text_only=True)
