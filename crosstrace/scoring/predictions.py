"""Read DACR prediction files, and coerce answer entries to one clean shape.

    from crosstrace.scoring.predictions import load_predictions
    predictions, problems = load_predictions("preds.json")
    predictions["dacr-bench-00001"]["q01"]   # {"answer": str, "citation": str, "confidence": float | None}

Accepted files (JSON, or JSON Lines with one challenge per line):
- upstream's runner output: a list of `{"challengeId", "answers": {qid: {answer, citation, confidence}}, ...}`;
- this project's own: `{challengeId: {qid: {answer, citation, confidence}}}`.

Bad entries never stop the load: a record without a challenge id, a line that is not JSON, an
entry of the wrong type, a NaN or out-of-range confidence are each reported as one problem
(path, line or record, field, reason, challenge and question id) and the rest is kept. Values
that can be repaired are repaired and reported (a confidence of 1.7 is clamped to 1.0); values
that cannot are dropped (an unreadable confidence becomes None, which each scoring mode maps
to its own default). `ProblemLog.records` and `.records_skipped` count the records read and
those left out whole.

What an odd value means is the scoring mode's choice, a `PredictionsReading` (README, "Malformed
predictions"): `LENIENT` (strict mode: numeric text and percents are confidences, the first of two
records for one challenge is kept) or `UPSTREAM_SCORER` (reference mode, as upstream's evaluate.ts
reads a predictions file: a confidence that is not a JSON number is NaN, the last record for a
challenge is kept, an entry of "", 0 or false is no entry). Missing confidences stay None here:
the scorer maps them (`DacrRules.missing_confidence`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import InvalidJSON, has_lone_surrogate, loads
from crosstrace.scoring.dacr_reference import as_double, js_string

ANSWER_KEYS = ("answer", "response")
CITATION_KEYS = ("citation", "source", "reference")
CONFIDENCE_KEYS = ("confidence",)

Entry = dict[str, Any]
_CLEAN_KEYS = {"answer", "citation", "confidence"}


@dataclass(frozen=True)
class PredictionsReading:
    """How the odd values of a predictions file are read (one per scoring mode: `DacrRules.reading`)."""

    name: str
    # A confidence must be a JSON number (anything else is NaN, as upstream's scorer reads it), or
    # numeric text and percents ("0.8", "80%") are read too.
    confidence_numbers_only: bool
    # Of two records for one challenge, the last is kept (upstream's scorer fills a map) or the first.
    keep_last_duplicate: bool
    # An entry of "", 0 or false is no entry (upstream's `if (!response)`), or an (empty) answer.
    falsy_entry_is_no_entry: bool


LENIENT = PredictionsReading("lenient", False, False, False)
UPSTREAM_SCORER = PredictionsReading("upstream-scorer", True, True, True)


class ReadPredictions(dict):
    """Predictions already read into clean entries ({challengeId: {qid: entry}}): `score_dacr` takes
    them as they are, so an odd value is read, and reported, once."""


def _lookup(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[bool, Any]:
    """First key of `names` present in `obj`, case-insensitively (models write "Answer" too)."""
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for name in names:
        if name in lowered:
            return True, lowered[name]
    return False, None


def parse_confidence(value: Any, numbers_only: bool = False) -> tuple[float | None, str | None]:
    """A confidence in [0, 1], None when missing, or NaN (`numbers_only`: anything but a JSON number, as
    upstream's scorer reads it), and a problem sentence when the value was not clean."""
    if value is None:
        return None, None
    if numbers_only and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return math.nan, (
            f"not a JSON number ({value!r}); read as NaN, as upstream's scorer does, so mean confidence and "
            "confidence-weighted accuracy are undefined"
        )
    if isinstance(value, bool):
        return None, f"expected a number, got boolean {value}; treated as missing"
    if isinstance(value, str):
        text = value.strip()
        scale = 100.0 if text.endswith("%") else 1.0
        try:
            number = float(text.rstrip("%").strip()) / scale
        except ValueError:
            return None, f"not a number ({value!r}); treated as missing"
    elif isinstance(value, (int, float)):
        number = as_double(value)
    else:
        return None, f"expected a number, got {type(value).__name__}; treated as missing"
    if not math.isfinite(number):
        if numbers_only:
            return math.nan, f"{number} is not a finite number; read as NaN, as upstream's scorer does"
        return None, f"{number} is not a finite number; treated as missing"
    if number < 0.0 or number > 1.0:
        clamped = min(1.0, max(0.0, number))
        return clamped, f"{number:g} is outside [0, 1]; clamped to {clamped:g}"
    return number, None


def _is_clean(value: Any) -> bool:
    """Is `value` already an entry of the clean shape (e.g. from load_predictions)? The common
    case, so it is tested first and cheaply."""
    if (
        type(value) is dict
        and value.keys() == _CLEAN_KEYS
        and type(value["answer"]) is str
        and type(value["citation"]) is str
        and not has_lone_surrogate(value["answer"])
    ):
        confidence = value["confidence"]
        return confidence is None or (type(confidence) is float and 0.0 <= confidence <= 1.0)
    return False


def coerce_entry(value: Any, reading: PredictionsReading = LENIENT) -> tuple[Entry, list[str]]:
    """One answer entry as `{"answer": str, "citation": str, "confidence": float | None}`.

    Returns the entry and the problems found, as sentences that start with the field name.
    A bare string or number is taken as the answer. Idempotent: a clean entry gives no problem.
    """
    if _is_clean(value):
        return value, []
    problems: list[str] = []
    if isinstance(value, dict):
        has_answer, answer = _lookup(value, ANSWER_KEYS)
        if not has_answer:
            problems.append("answer: missing; scored as an empty answer")
        _, citation = _lookup(value, CITATION_KEYS)
        _, confidence = _lookup(value, CONFIDENCE_KEYS)
    else:
        answer, citation, confidence = value, None, None
        if value is None or isinstance(value, (list, dict)):
            problems.append(
                f"entry: expected an object with an answer, got {type(value).__name__ if value is not None else 'null'}"
            )
            answer = None

    if answer is None:
        answer_text = ""
    elif isinstance(answer, str):
        answer_text = answer
    elif isinstance(answer, (int, float)) and not isinstance(answer, bool):
        # Upstream's runner writes String(answer): a number answer is its JavaScript text.
        answer_text = js_string(answer)
    else:
        problems.append(f"answer: expected a string, got {type(answer).__name__}; treated as no answer")
        answer_text = ""

    if has_lone_surrogate(answer_text):
        problems.append("answer: holds a lone surrogate (half of a UTF-16 pair, not text); scored as written")
    if citation is None or isinstance(citation, str):
        citation_text = citation or ""
    else:
        problems.append(f"citation: expected a string, got {type(citation).__name__}; ignored")
        citation_text = ""

    confidence_value, problem = parse_confidence(confidence, reading.confidence_numbers_only)
    if problem:
        problems.append(f"confidence: {problem}")
    return {"answer": answer_text, "citation": citation_text, "confidence": confidence_value}, problems


class ProblemLog:
    """Collects bad-input reports as `DataError`s through an `ErrorPolicy` (skip by default)."""

    def __init__(self, path: str | Path, policy: ErrorPolicy | None = None):
        self.path = str(path)
        self.policy = policy or ErrorPolicy(on_error="skip")
        self.problems: list[dict[str, Any]] = []
        self.records = 0  # prediction records read (a whole file that is not JSON counts none)
        self.records_skipped = 0  # records left out whole (no usable challenge id, no answers, a duplicate)

    def skip_record(self, reason: str, **where: Any) -> None:
        """Report a problem that leaves a whole record out."""
        self.records_skipped += 1
        self.add(reason, **where)

    def add(
        self,
        reason: str,
        *,
        line: int | None = None,
        field: str | None = None,
        challenge_id: Any = None,
        question_id: Any = None,
    ) -> None:
        error = DataError(self.path, line, field, reason)
        self.problems.append(
            {
                "path": self.path,
                "line": line,
                "field": field,
                "reason": reason,
                "message": str(error),
                "challenge_id": challenge_id,
                "question_id": question_id,
            }
        )
        self.policy.handle(error)


def _falsy(value: Any) -> bool:
    """ "", 0 or false: what JavaScript's `!value` calls false, null aside (null is no entry in every mode)."""
    return value is False or value == "" or (type(value) in (int, float) and value == 0)


def coerce_answers(
    answers: Any,
    log: ProblemLog,
    *,
    where: str,
    line: int | None,
    challenge_id: str,
    reading: PredictionsReading = LENIENT,
) -> dict[str, Entry]:
    """A challenge's `{qid: entry}` map, every entry coerced; problems go to `log`."""
    if not isinstance(answers, dict):
        log.add(
            f"expected an object of answers keyed by question id, got {type(answers).__name__}",
            line=line,
            field=where,
            challenge_id=challenge_id,
        )
        return {}
    out: dict[str, Entry] = {}
    for qid, value in answers.items():
        if type(qid) is str and _is_clean(value):
            out[qid] = value  # what coerce_entry would return, without its bookkeeping
            continue
        odd = {"line": line, "field": f"{where}.{qid}", "challenge_id": challenge_id, "question_id": qid}
        if value is None:
            # Upstream treats a null entry as no entry (`if (!modelResponse)`); so do we.
            log.add("null entry; treated as no answer", **odd)
            continue
        if _falsy(value):
            if reading.falsy_entry_is_no_entry:
                log.add(f"entry {value!r}: no entry, as upstream's scorer reads it (`if (!response)`)", **odd)
                continue
            if value == "":
                log.add("empty entry; scored as an empty answer", **odd)
        entry, problems = coerce_entry(value, reading)
        for problem in problems:
            field, _, reason = problem.partition(": ")
            log.add(reason, line=line, field=f"{where}.{qid}.{field}", challenge_id=challenge_id, question_id=qid)
        out[qid if type(qid) is str else str(qid)] = entry
    return out


def _add_challenge(
    predictions: dict[str, dict[str, Entry]],
    challenge_id: Any,
    answers: Any,
    log: ProblemLog,
    where: str,
    line: int | None,
    reading: PredictionsReading,
) -> None:
    log.records += 1
    if not isinstance(challenge_id, str) or not challenge_id:
        log.skip_record(
            f"missing or invalid challenge id ({challenge_id!r}); record skipped",
            line=line,
            field=f"{where}.challengeId" if where else "challengeId",
        )
        return
    if challenge_id in predictions:
        kept = (
            "the last record is kept, as upstream's scorer does"
            if reading.keep_last_duplicate
            else "the first record is kept"
        )
        log.skip_record(
            f"duplicate challenge id {challenge_id!r}; {kept}",
            line=line,
            field=where or challenge_id,
            challenge_id=challenge_id,
        )
        if not reading.keep_last_duplicate:
            return
        del predictions[challenge_id]  # re-inserted below: the order is the records' as they stand
    predictions[challenge_id] = coerce_answers(
        answers,
        log,
        where=f"{where}.answers" if where else challenge_id,
        line=line,
        challenge_id=challenge_id,
        reading=reading,
    )


def _read_upstream_record(
    record: Any, predictions: dict, log: ProblemLog, where: str, line: int | None, reading: PredictionsReading
) -> None:
    if not isinstance(record, dict):
        log.records += 1
        log.skip_record(
            f"expected a prediction object, got {type(record).__name__}; skipped", line=line, field=where or None
        )
        return
    if "answers" not in record:
        log.records += 1
        log.skip_record(
            "no 'answers' field; record skipped",
            line=line,
            field=where or None,
            challenge_id=record.get("challengeId"),
        )
        return
    _add_challenge(predictions, record.get("challengeId"), record["answers"], log, where, line, reading)


def read_predictions_object(
    data: Any, log: ProblemLog, reading: PredictionsReading = LENIENT
) -> dict[str, dict[str, Entry]]:
    """Predictions from an already-parsed JSON value: an upstream list or our own mapping (`ReadPredictions`
    are taken as they are)."""
    if isinstance(data, ReadPredictions):
        return data
    predictions: dict[str, dict[str, Entry]] = ReadPredictions()
    if isinstance(data, list):
        for index, record in enumerate(data):
            _read_upstream_record(record, predictions, log, f"[{index}]", None, reading)
    elif isinstance(data, dict) and isinstance(data.get("answers"), dict) and "challengeId" in data:
        _read_upstream_record(data, predictions, log, "", None, reading)
    elif isinstance(data, dict):
        for challenge_id, answers in data.items():
            _add_challenge(predictions, challenge_id, answers, log, "", None, reading)
    else:
        log.add(f"expected a list of predictions or an object keyed by challenge id, got {type(data).__name__}")
    return predictions


def _read_jsonl(text: str, log: ProblemLog, reading: PredictionsReading) -> dict[str, dict[str, Entry]]:
    predictions: dict[str, dict[str, Entry]] = ReadPredictions()
    for line_number, line in enumerate(text.split("\n"), start=1):  # "\n" only: see crosstrace.jsonio
        if not line.strip():
            continue
        try:
            record = loads(line)
        except InvalidJSON as exc:
            log.records += 1
            log.skip_record(f"{exc.reason}; line skipped", line=line_number)
            continue
        if isinstance(record, dict) and "answers" not in record and "challengeId" not in record:
            # One line of our own mapping format: {challengeId: {qid: entry}}.
            for challenge_id, answers in record.items():
                _add_challenge(predictions, challenge_id, answers, log, "", line_number, reading)
        else:
            _read_upstream_record(record, predictions, log, "", line_number, reading)
    return predictions


def _looks_like_jsonl(text: str) -> bool:
    """JSON Lines when the first non-blank line is a JSON object by itself (a broken
    pretty-printed JSON file is one error, not one error per line)."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    try:
        return isinstance(loads(first), dict)
    except InvalidJSON:
        return False


def load_predictions(
    path: str | Path, policy: ErrorPolicy | None = None, reading: PredictionsReading = LENIENT
) -> tuple[dict[str, dict[str, Entry]], list[dict[str, Any]]]:
    """Read a prediction file; returns (predictions, problems). Never raises on bad content
    under the default policy (skip); `ErrorPolicy("raise")` stops at the first problem.
    A missing file raises `DataError`. `read_predictions_file` also gives the record counts."""
    predictions, log = read_predictions_file(path, policy, reading)
    return predictions, log.problems


def read_predictions_file(
    path: str | Path, policy: ErrorPolicy | None = None, reading: PredictionsReading = LENIENT
) -> tuple[ReadPredictions, ProblemLog]:
    """`load_predictions`, returning the whole `ProblemLog` (problems and record counts)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, None, "prediction file not found")
    log = ProblemLog(path, policy)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        log.add(f"not valid UTF-8 ({exc.reason} at byte {exc.start}); undecodable bytes replaced")
        text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        log.add("the file is empty")
        return ReadPredictions(), log
    try:
        data = loads(text)
    except InvalidJSON as whole_file_error:
        if _looks_like_jsonl(text):
            return _read_jsonl(text, log, reading), log
        log.add(whole_file_error.reason, line=whole_file_error.line)
        return ReadPredictions(), log
    return read_predictions_object(data, log, reading), log


def to_upstream(predictions: dict[str, dict[str, Entry]], model: str | None = None) -> list[dict[str, Any]]:
    """Our mapping as upstream's prediction list, for tools that read upstream files."""
    records = []
    for challenge_id, answers in predictions.items():
        record: dict[str, Any] = {"challengeId": challenge_id}
        if model:
            record["model"] = model
        record["answers"] = {
            qid: {"answer": e["answer"], "citation": e["citation"], "confidence": e["confidence"]}
            for qid, e in answers.items()
        }
        records.append(record)
    return records
