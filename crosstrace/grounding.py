"""Grounding check: does each reasoning step's quote occur in the source paper?

Raw CrossTrace records ground their steps as `{"step": n, "source": "Section, paragraph N: 'quote'"}`.
Given the paper's text, a quote counts as found when, after normalisation (Unicode NFKC, case
folded, quotes and dashes unified, whitespace collapsed), it occurs in the text verbatim, or a
window of the text of the same number of words matches it with a difflib similarity ratio of at
least `FUZZY_THRESHOLD` (0.90: tolerates a dropped word or a changed inflection in a
20-word quote, not a paraphrase). A record is grounded when every step has at least one
grounding entry and every entry is found.

    python -m crosstrace.grounding --traces all_traces.jsonl --papers papers/ [--report grounding.json]

reads `papers/<paper id>.txt` (the id with every character outside [A-Za-z0-9._-] replaced by
`_`, e.g. `arxiv_2602.15397v1.txt`) for each record and prints per-record and overall results.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from crosstrace.schema import TraceRecord

FUZZY_THRESHOLD = 0.90
# Windows re-scored with difflib after the cheap word-overlap pass picks candidates.
_CANDIDATE_WINDOWS = 3

_UNIFY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "‐": "-", "−": "-"})
_QUOTED = re.compile(r"^(?P<location>[^:'\"‘“]*?)\s*:\s*(?P<quote>.+?)\s*$", re.DOTALL)
_QUOTE_MARKS = "'\"‘’“” "


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(_UNIFY).casefold().split())


def split_source(source: str) -> tuple[str, str]:
    """("Section, paragraph N", "quote") of a grounding source; no location when there is no colon."""
    match = _QUOTED.match(source.strip())
    if not match:
        return "", source.strip().strip(_QUOTE_MARKS)
    return match["location"], match["quote"].strip(_QUOTE_MARKS)


class SourceText:
    """A paper's text, normalised once for many quote look-ups."""

    def __init__(self, text: str):
        self.text = normalize(text)
        self.words = self.text.split()

    def score(self, quote: str) -> float:
        """1.0 for a verbatim (normalised) occurrence, else the best window's similarity ratio."""
        quote = normalize(quote)
        if not quote:
            return 0.0
        if quote in self.text:
            return 1.0
        quote_words = quote.split()
        return max(
            (SequenceMatcher(None, quote, window, autojunk=False).ratio() for window in self._candidates(quote_words)),
            default=0.0,
        )

    def _candidates(self, quote_words: list[str]) -> list[str]:
        """The windows of len(quote_words) words sharing the most words with the quote (one linear pass)."""
        size = len(quote_words)
        if len(self.words) <= size:
            return [" ".join(self.words)]
        wanted = Counter(quote_words)
        window: Counter[str] = Counter()
        overlap = 0
        scored = []
        for end, word in enumerate(self.words):
            window[word] += 1
            overlap += window[word] <= wanted[word]
            if end >= size:
                gone = self.words[end - size]
                window[gone] -= 1
                overlap -= window[gone] < wanted[gone]
            if end >= size - 1:
                scored.append((overlap, end - size + 1))
        best = sorted(scored, key=lambda item: (-item[0], item[1]))[:_CANDIDATE_WINDOWS]
        return [" ".join(self.words[start : start + size]) for _, start in best]


@dataclass
class StepResult:
    step: int
    location: str
    quote: str
    score: float
    found: bool


@dataclass
class RecordResult:
    paper_id: str | None
    steps: list[StepResult]
    ungrounded_steps: list[int]  # 1-based steps with no grounding entry at all

    @property
    def grounded(self) -> bool:
        return not self.ungrounded_steps and all(step.found for step in self.steps)

    def to_dict(self) -> dict:
        return {**asdict(self), "grounded": self.grounded}


def check_record(
    record: TraceRecord, paper_text: str | SourceText, threshold: float = FUZZY_THRESHOLD
) -> RecordResult:
    source = paper_text if isinstance(paper_text, SourceText) else SourceText(paper_text)
    results = []
    for entry in record.grounding:
        location, quote = split_source(entry.source)
        score = source.score(quote)
        results.append(StepResult(entry.step, location, quote, round(score, 4), score >= threshold))
    covered = {entry.step for entry in record.grounding}
    missing = [n for n in range(1, len(record.steps) + 1) if n not in covered]
    return RecordResult(record.paper_id, results, missing)


def summarize(results: list[RecordResult], threshold: float = FUZZY_THRESHOLD) -> dict:
    entries = [step for result in results for step in result.steps]
    return {
        "records": len(results),
        "records_grounded": sum(result.grounded for result in results),
        "grounding_entries": len(entries),
        "entries_found": sum(step.found for step in entries),
        "steps_without_grounding": sum(len(result.ungrounded_steps) for result in results),
        "threshold": threshold,
    }


def paper_file_name(paper_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", paper_id) + ".txt"


@dataclass
class GroundingArguments:
    traces: str = field(metadata={"help": "raw CrossTrace records (upstream all_traces.jsonl shape)"})
    papers: str = field(metadata={"help": "folder of paper texts named <paper id>.txt (see above)"})
    report: str | None = field(default=None, metadata={"help": "write per-record results as JSON here"})
    threshold: float = field(default=FUZZY_THRESHOLD, metadata={"help": "fuzzy similarity a quote needs"})


def run(args: GroundingArguments) -> int:
    from crosstrace.errors import ErrorPolicy
    from crosstrace.sources.crosstrace_raw import read_raw_file

    records = read_raw_file(args.traces, ErrorPolicy())
    results, without_text = [], 0
    for item in records:
        paper = Path(args.papers) / paper_file_name(item.record.paper_id or "")
        if not item.record.paper_id or not paper.is_file():
            without_text += 1
            continue
        results.append(check_record(item.record, paper.read_text(encoding="utf-8", errors="replace"), args.threshold))
    summary = {**summarize(results, args.threshold), "records_without_paper_text": without_text}
    print(json.dumps(summary, indent=2))
    if args.report:
        Path(args.report).write_text(
            json.dumps({"summary": summary, "records": [r.to_dict() for r in results]}, indent=2) + "\n",
            encoding="utf-8",
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    from crosstrace.cli import run_command  # transformers' argument parser: only when run as a command
    from crosstrace.errors import DataError

    return run_command(
        GroundingArguments, run, argv, prog="python -m crosstrace.grounding", description=__doc__, errors=(DataError,)
    )


if __name__ == "__main__":
    sys.exit(main())
