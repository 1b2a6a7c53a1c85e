"""The formats of a predictions file that `evaluate.py score` reads, and how one is told from another.

- `outputs`: JSON Lines of `{"id", "output"}`, the model's raw text (or, for `--mcq_scoring
  loglik`, its option log-prob table) keyed by prompt id, e.g. a run's `generations/<task>.jsonl`.
  Every task reads it.
- `dacr-upstream`: parsed DACR answers as upstream's runner writes them, a list of
  `{"challengeId", "answers": {qid: {answer, citation, confidence}}}` (JSON, or JSON Lines of records).
- `dacr-mapping`: parsed DACR answers in this project's shape, `{challengeId: {qid: entry}}`
  (JSON, or JSON Lines with one challenge per line).

The two DACR formats are read by `crosstrace.scoring.predictions.load_predictions`. With
`--predictions_format auto` the file's first record decides (what `score` has always done) and
the log says which format that was; a stated format is checked against every record, and a
record of another format is an error naming the file and line, before anything is scored.
"""

from __future__ import annotations

from pathlib import Path

from crosstrace.errors import DataError
from crosstrace.jsonio import InvalidJSON, loads

AUTO = "auto"
OUTPUTS = "outputs"
DACR_UPSTREAM = "dacr-upstream"
DACR_MAPPING = "dacr-mapping"
PREDICTIONS_FORMATS = (OUTPUTS, DACR_UPSTREAM, DACR_MAPPING)
DESCRIPTIONS = {
    OUTPUTS: "JSON Lines of {id, output}",
    DACR_UPSTREAM: "DACR answers as upstream writes them: {challengeId, answers} records",
    DACR_MAPPING: "DACR answers keyed by challenge id: {challengeId: {qid: entry}}",
}


def record_format(record: dict) -> str:
    """The format one JSON object belongs to (the rules `score` and `load_predictions` have always used)."""
    if "output" in record and "answers" not in record:
        return OUTPUTS
    if "answers" in record or "challengeId" in record:
        return DACR_UPSTREAM
    return DACR_MAPPING


def record_formats(path: Path) -> list[tuple[int | None, str]]:
    """(line, format) of each record of the file, in order. A file that is one JSON document has one
    entry with line None (a list is upstream's); lines that are not JSON objects are left to the readers,
    which report them."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        document = loads(text)
    except InvalidJSON:
        pass  # JSON Lines, or broken: read line by line below
    else:
        if isinstance(document, list):
            return [(None, DACR_UPSTREAM)]
        return [(None, record_format(document))] if isinstance(document, dict) else []
    found = []
    for number, line in enumerate(text.split("\n"), start=1):  # "\n" only: see crosstrace.jsonio
        try:
            record = loads(line) if line.strip() else None
        except InvalidJSON:
            continue
        if isinstance(record, dict):
            found.append((number, record_format(record)))
    return found


def resolve_predictions_format(path: Path, requested: str, task: str, accepted: tuple[str, ...]) -> tuple[str, str]:
    """(the format to read `path` as, how it was decided). `accepted` are the task's formats, the one a
    file without any readable record is read as first. Raises DataError naming the file (and line)
    when a stated format is not the task's or not the file's."""
    if requested != AUTO and requested not in accepted:
        raise DataError(
            path,
            None,
            "predictions_format",
            f"task {task} reads {' or '.join(accepted)}, not {requested}: pass --predictions_format auto or one of those",
        )
    if requested == AUTO and len(accepted) == 1:
        return accepted[0], f"the only format task {task} reads"
    formats = record_formats(path)
    if requested == AUTO:
        if not formats:
            return accepted[0], "no readable record to tell from"
        line, found = formats[0]
        if found not in accepted:
            raise DataError(path, line, None, f"reads as {found} ({DESCRIPTIONS[found]}), which task {task} does not")
        return found, "detected from the first record"
    for line, found in formats:
        if found != requested:
            raise DataError(
                path,
                line,
                None,
                f"--predictions_format {requested} ({DESCRIPTIONS[requested]}), but this record is {found} "
                f"({DESCRIPTIONS[found]}): pass the right file, or --predictions_format {found} or auto",
            )
    return requested, "as stated, every record checked"
