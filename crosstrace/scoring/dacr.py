"""Score DACR answers against DACR-Bench challenges, in `strict` (default) or `reference` mode.

    from crosstrace.sources.dacr_bench import load_benchmark
    from crosstrace.scoring.predictions import load_predictions
    from crosstrace.scoring.dacr import score_dacr

    bench = load_benchmark("../shared/data/dacr-bench/dacr_bench_v1.1_mini.json")
    predictions, problems = load_predictions("preds.json")
    score = score_dacr(bench.challenges, predictions, mode="strict")
    score.metrics["accuracy"], score.ci95["accuracy"], score.breakdowns["category"]

Metrics (fractions in [0, 1]; None when undefined):
- `accuracy`: correct answers / questions; `pass_rate`: challenges with accuracy >= 0.6;
- `cars`: accuracy on trap-targeted questions (category `trap_targeted`, v1.0 `conflict_targeted`);
- `trap_evasion`: among trap-targeting questions whose answer takes a side in the planted
  conflict, the share that took the authoritative side;
- `confidence_weighted_accuracy`: sum of confidence over correct answers / sum over all;
- `ece`: expected calibration error over 10 confidence bins; `brier`: mean (confidence - correct)²;
- `citation`: mean citation score (reference: upstream's rule; strict: `dacr_citation`);
- `transfer_gap`: |accuracy on real documents - accuracy on synthetic ones|;
- `mean_confidence`, `coverage` (questions with an answer entry).
Breakdowns by category, hops, split, domain, difficulty (each question's own) and answer
format (numeric, composite, short_text, long_text: what the gold answer is).

The two modes differ in the answer rule (`dacr_reference` vs `dacr_strict`) and in a few
aggregation rules, each upstream's in reference mode:

| | reference (upstream evaluate.ts) | strict |
| --- | --- | --- |
| challenge without a prediction | left out of every metric | all its questions wrong |
| trap evasion, no answer entry | fell | undefined |
| trap evasion, equal correct/wrong values | containment rule | undefined |
| trap evasion with nothing defined | 1.0 | None |
| an answer asserting the planted value | scored by the answer rule | wrong |
| ECE bins | [b/10, (b+1)/10) in floating point; 1.0 in no bin | [b/10, (b+1)/10), 1.0 in the last |
| confidence-weighted accuracy, all confidences 0 | 0 | None |

In both modes a question with no answer entry has confidence 0, and an entry whose confidence
is missing or unreadable has 0.5 (upstream's runner default). Upstream's per-difficulty
breakdown looks difficulty up by question id across all challenges (so every "q01" gets the
first challenge's difficulty); that is a bug no published number depends on, and both modes
use each question's own difficulty. Intervals: percentile bootstrap over challenges (stats.py).
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

import numpy as np

from crosstrace.scoring import dacr_reference as reference
from crosstrace.scoring.dacr_citation import EvidenceIndex
from crosstrace.scoring.dacr_strict import ANSWER_FORMATS, STRICT_VERSION, StrictGold, ValueTarget, lookup_unit
from crosstrace.scoring.predictions import Entry, ProblemLog, read_predictions_object
from crosstrace.scoring.stats import DEFAULT_RESAMPLES, Bootstrap, interval, ratio
from crosstrace.scoring.types import TaskScore

SCORING_MODES = ("strict", "reference")
TRAP_CATEGORIES = frozenset({"trap_targeted", "conflict_targeted"})
BREAKDOWN_DIMENSIONS = ("category", "hops", "split", "domain", "difficulty", "answer_format")
CHALLENGE_LEVEL_DIMENSIONS = ("split", "domain")
PASS_THRESHOLD = 0.6
ECE_BINS = 10
HEADLINE_METRICS = (
    "accuracy",
    "pass_rate",
    "cars",
    "trap_evasion",
    "confidence_weighted_accuracy",
    "ece",
    "brier",
    "citation",
    "transfer_gap",
    "mean_confidence",
    "coverage",
)


def challenge_split(challenge: dict[str, Any]) -> str:
    """The challenge's split; v1.0 files have none and it follows from the source type."""
    if challenge.get("split"):
        return str(challenge["split"])
    source = challenge.get("source") if isinstance(challenge.get("source"), dict) else {}
    return "synthetic" if source.get("type") == "engine" else "real"


def hops_label(hops: Any) -> str:
    if isinstance(hops, bool) or not isinstance(hops, (int, float)):
        return "unknown"
    return "6+" if hops >= 6 else str(int(hops))


def scoring_info(mode: str) -> dict[str, str]:
    if mode == "reference":
        return {"mode": "reference", "version": "dacr-bench-evaluate.ts"}
    return {"mode": "strict", "version": STRICT_VERSION}


class _Question:
    """What scoring needs of one question, prepared once per distinct question."""

    __slots__ = (
        "answer_format",
        "category",
        "described",
        "difficulty",
        "hops",
        "qid",
        "question",
        "reference_citation",
        "reference_gold",
        "reference_trap",
        "strict_gold",
        "trap",
        "trap_id",
        "trap_missing",
        "trap_right",
        "trap_wrong",
    )

    def __init__(self, question: dict[str, Any], traps: dict[Any, dict[str, Any]], mode: str):
        self.question = question
        self.qid = question.get("questionId")
        self.category = str(question.get("category") or "unknown")
        self.hops = hops_label(question.get("hops"))
        self.difficulty = str(question.get("difficulty") or "unknown")
        self.trap_id = question.get("targetsTrap") or None
        self.trap = traps.get(self.trap_id) if self.trap_id else None
        self.trap_missing = self.trap_id is not None and self.trap is None
        self.strict_gold = _strict_gold_cached(question)
        self.answer_format = self.strict_gold.answer_format
        upstream = mode == "reference"
        self.reference_gold = reference.ReferenceGold(question) if upstream else None
        self.reference_trap = reference.ReferenceTrap(self.trap) if upstream and self.trap is not None else None
        self.reference_citation = reference.ReferenceCitation(question) if upstream else None
        # A trap whose planted value equals its correct value (a known data defect) cannot
        # tell evasion from falling: strict mode leaves it undefined.
        scorable = self.trap is not None and reference.js_string(self.trap.get("correctValue")) != reference.js_string(
            self.trap.get("wrongValue")
        )
        self.trap_wrong = ValueTarget(self.trap.get("wrongValue")) if scorable else None
        self.trap_right = ValueTarget(self.trap.get("correctValue")) if scorable else None
        # What every sample row says about its question (no reference text): category, hops,
        # difficulty, answer format, whether it targets a trap.
        self.described = (
            self.category,
            question.get("hops"),
            question.get("difficulty"),
            self.answer_format,
            self.trap_id is not None,
        )

    def verdict(self, answer: str, mode: str) -> tuple[bool, str, str | None]:
        """(correct, rule, trap side) of one answer under `mode`."""
        if mode == "strict":
            return self.strict_gold.assess(answer, self.trap_wrong, self.trap_right)
        rule = reference.match_answer(answer, self.reference_gold)
        evaded = self.reference_trap.evasion(answer) if self.reference_trap is not None else None
        return rule != "none", rule, (None if evaded is None else ("evaded" if evaded else "fell"))


class _Challenge:
    """A challenge's split, domain, prepared questions and document index."""

    __slots__ = ("document", "domain", "question_ids", "questions", "split", "traps_missing")

    def __init__(self, challenge: dict[str, Any], mode: str):
        self.split = challenge_split(challenge)
        self.domain = str((challenge.get("document") or {}).get("domain") or "unknown")
        traps = {t.get("trapId"): t for t in challenge.get("traps") or [] if isinstance(t, dict)}
        self.questions = [_Question(q, traps, mode) for q in challenge.get("questions") or [] if isinstance(q, dict)]
        self.question_ids = {q.qid for q in self.questions}
        self.traps_missing = [q for q in self.questions if q.trap_missing]  # reported, once per question
        if mode == "strict":
            self.document: EvidenceIndex | reference.ReferenceDocument = EvidenceIndex(challenge)
        else:
            text = (challenge.get("document") or {}).get("text")
            self.document = reference.ReferenceDocument(text if isinstance(text, str) else "")

    def citation_score(self, question: _Question, citation: str, pointed_memo: dict[str, int]) -> float | None:
        if isinstance(self.document, EvidenceIndex):
            return self.document.score(citation, question.question, pointed_memo)
        return question.reference_citation.score(citation, self.document)


# Prepared challenges by content, so that scoring the same benchmark again (another mode,
# another run in the same process) skips document indexing and gold parsing.
_CHALLENGE_CACHE: dict[tuple, _Challenge] = {}
_CHALLENGE_CACHE_LIMIT = 1_000
_GOLD_CACHE: dict[tuple, StrictGold] = {}
_GOLD_CACHE_LIMIT = 50_000


def clear_caches() -> None:
    """Forget prepared challenges, gold answers and memoized unit lookups (benchmarks time
    cold starts with it; tests check that caches never change a score)."""
    _CHALLENGE_CACHE.clear()
    _GOLD_CACHE.clear()
    lookup_unit.cache_clear()


def _content_key(challenge: dict[str, Any], mode: str) -> tuple:
    document = challenge.get("document") or {}
    return (
        mode,
        document.get("text") if isinstance(document.get("text"), str) else "",
        repr(document.get("domain")),
        repr(challenge.get("split")),
        repr(challenge.get("source")),
        repr(challenge.get("facts")),
        repr(challenge.get("traps")),
        repr(challenge.get("questions")),
    )


def _strict_gold_cached(question: dict[str, Any]) -> StrictGold:
    key = (repr(question.get("goldAnswer")), repr(question.get("goldAnswerAliases")), repr(question.get("text")))
    gold = _GOLD_CACHE.get(key)
    if gold is None:
        if len(_GOLD_CACHE) >= _GOLD_CACHE_LIMIT:
            _GOLD_CACHE.clear()
        gold = _GOLD_CACHE[key] = StrictGold(question)
    return gold


_TRAP_VALUE = {None: np.nan, "evaded": 1.0, "fell": 0.0}  # a trap side as a number to average


class _Session:
    """One scoring call: prepared challenges by object identity (copies under new ids share
    them), and memos so that the same answer or citation to the same question is judged once.

    The call first registers every answer and citation in the memos (`register`), then judges
    them all (`judge_registered`), then builds the rows from the memos. Memo values carry what
    every row needs: a verdict is (correct, rule, trap side, trap side as 1.0/0.0/NaN); a
    citation is (score, score or NaN)."""

    def __init__(self, mode: str):
        self.mode = mode
        self._by_identity: dict[tuple[int, ...], _Challenge] = {}
        self._keep_alive: list[Any] = []  # ids are only unique while their objects live
        # Per question, small dicts keyed by the answer (or citation) text: cheaper to look up
        # than one large dict keyed by (question, text) tuples.
        self._verdicts: dict[_Question, dict[str, tuple[bool, str, str | None, float]]] = {}
        self._citations: dict[_Question, dict[str, tuple[float | None, float]]] = {}
        self._memos: dict[_Challenge, list[tuple[_Question, Any, dict, dict, tuple]]] = {}
        self._pointed: dict[_Challenge, dict[str, int]] = {}  # strict: paragraphs a citation points at, as a mask
        self.question_numbers: dict[_Question, int] = {}  # each distinct prepared question, numbered
        self._numbers: dict[_Challenge, list[int]] = {}

    def challenge(self, challenge: dict[str, Any]) -> _Challenge:
        parts = (
            challenge.get("document"),
            challenge.get("facts"),
            challenge.get("traps"),
            challenge.get("questions"),
            challenge.get("split"),
            challenge.get("source"),
        )
        identity = tuple(map(id, parts))
        prepared = self._by_identity.get(identity)
        if prepared is None:
            self._keep_alive.append(parts)
            key = _content_key(challenge, self.mode)
            prepared = _CHALLENGE_CACHE.get(key)
            if prepared is None:
                if len(_CHALLENGE_CACHE) >= _CHALLENGE_CACHE_LIMIT:
                    _CHALLENGE_CACHE.clear()
                prepared = _CHALLENGE_CACHE[key] = _Challenge(challenge, self.mode)
            self._by_identity[identity] = prepared
        return prepared

    def numbers(self, challenge: _Challenge) -> list[int]:
        """The numbers of the challenge's questions, in order of first appearance in this call."""
        numbers = self._numbers.get(challenge)
        if numbers is None:
            seen = self.question_numbers
            numbers = self._numbers[challenge] = [seen.setdefault(q, len(seen)) for q in challenge.questions]
        return numbers

    def memos(self, challenge: _Challenge) -> list[tuple[_Question, Any, dict, dict, tuple]]:
        """(question, its id, its verdicts by answer, its citation scores by citation, what its
        sample rows say of it) for each question of the challenge."""
        memos = self._memos.get(challenge)
        if memos is None:
            memos = self._memos[challenge] = [
                (q, q.qid, self._verdicts.setdefault(q, {}), self._citations.setdefault(q, {}), q.described)
                for q in challenge.questions
            ]
        return memos

    def register(self, challenge: _Challenge, answers: dict[str, Entry]) -> None:
        """Add the challenge's answers and citations to the memos, to be judged (value None)."""
        for _, qid, verdicts, citations, _ in self.memos(challenge):
            entry = answers.get(qid)
            if entry is not None:
                verdicts.setdefault(entry["answer"])
                citations.setdefault(entry["citation"])

    def judge_registered(self) -> None:
        """Judge every registered answer and citation, question by question. In row order
        consecutive rows belong to different questions and documents, and each judgement starts
        with cold CPU caches; judging a question's answers together, while its gold forms and
        its document's index stay in the caches, takes a third less time on the 100,000-answer
        benchmark (strict mode, measured)."""
        for challenge, memos in self._memos.items():
            pointed = self._pointed.setdefault(challenge, {})
            for question, _, verdicts, citations, _ in memos:
                for answer in verdicts:
                    verdicts[answer] = self._judge(question, answer)
                for citation in citations:
                    citations[citation] = self._score_citation(challenge, question, citation, pointed)

    def _judge(self, question: _Question, answer: str) -> tuple[bool, str, str | None, float]:
        correct, rule, state = question.verdict(answer, self.mode)
        return correct, rule, state, _TRAP_VALUE[state]

    def _score_citation(
        self, challenge: _Challenge, question: _Question, citation: str, pointed: dict[str, int]
    ) -> tuple[float | None, float]:
        score = challenge.citation_score(question, citation, pointed)
        return score, np.nan if score is None else score

    def without_entry(self, challenge: _Challenge, question: _Question) -> tuple[tuple, tuple[float | None, float]]:
        """(verdict, citation) of a question that has no answer entry: wrong; in reference mode a
        trap question counts as fallen for (upstream's rule), and its citation scores 0; strict
        mode scores the empty citation."""
        if self.mode == "strict":
            citations = self._citations[question]
            if "" not in citations:
                citations[""] = self._score_citation(challenge, question, "", self._pointed.setdefault(challenge, {}))
            return (False, "no_entry", None, _TRAP_VALUE[None]), citations[""]
        state = "fell" if question.trap_id else None
        return (False, "no_entry", state, _TRAP_VALUE[state]), (0.0, 0.0)


def score_dacr(
    challenges: Any,
    predictions: Any,
    mode: str = "strict",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> TaskScore:
    """Score `predictions` ({challengeId: {qid: entry}} or upstream's list) against `challenges`
    (a list of DACR-Bench challenge dicts, or a `Benchmark`). Bad entries are reported in
    `.problems`, never raised."""
    if mode not in SCORING_MODES:
        raise ValueError(f"unknown scoring mode {mode!r}; expected one of {SCORING_MODES}")
    challenge_list = list(getattr(challenges, "challenges", challenges))
    with _cyclic_gc_paused():
        return _score(challenge_list, predictions, mode, bootstrap, seed)


def _score(challenge_list: list[dict[str, Any]], predictions: Any, mode: str, bootstrap: int, seed: int) -> TaskScore:
    """`score_dacr`'s work: read the predictions, register every answer, judge them, build the
    rows, aggregate."""
    log = ProblemLog("predictions")
    by_challenge: dict[str, dict[str, Entry]] = read_predictions_object(predictions, log)
    known_ids = {c.get("challengeId") for c in challenge_list}
    for challenge_id in by_challenge:
        if challenge_id not in known_ids:
            log.add(
                "prediction for a challenge that is not in the benchmark; ignored",
                field=challenge_id,
                challenge_id=challenge_id,
            )
    rows = _Rows(_Session(mode), log)
    for challenge in challenge_list:
        rows.add_challenge(challenge, by_challenge.get(challenge.get("challengeId")))
    rows.build()
    return rows.task_score(len(challenge_list), bootstrap, seed)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during one scoring call.

    A large call allocates hundreds of thousands of small containers (answer entries, sample
    rows, memo entries) that live until it ends and form no reference cycles; each time enough
    of them pile up, the collector walks the whole heap and finds nothing to free (~0.1 s of a
    100,000-answer call, measured). Reference counting frees memory as usual meanwhile, and the
    collector resumes, if it was running, when the call returns or raises: after `_score` has
    returned, so that its memos are freed already and the collector's first pass finds only
    the result."""
    if not gc.isenabled():  # the caller paused it: leave it so
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Rows:
    """The sample rows of one call and, beside them, the per-row values the metrics need:
    `add_challenge` for each challenge, then `build`."""

    def __init__(self, session: _Session, log: ProblemLog):
        self.session = session
        self.strict = session.mode == "strict"
        self.log = log
        self.samples: list[dict[str, Any]] = []
        # Per row, the memo values as they are (split into columns once, at the end).
        self.verdicts: list[tuple[bool, str, str | None, float]] = []
        self.citations: list[tuple[float | None, float]] = []
        self.confidence: list[float] = []
        self.unanswered: list[int] = []  # the rows of questions with no answer entry
        self.scored: list[_Challenge] = []  # the challenges scored: the bootstrap's units
        self.rows_per_unit: list[int] = []
        self.question_of_row: list[int] = []
        self.confidence_missing = 0
        self.without_prediction = 0
        self._reported_traps: set[tuple[Any, Any]] = set()
        self._to_build: list[tuple[Any, _Challenge, dict[str, Entry] | None]] = []

    def add_challenge(self, challenge: dict[str, Any], answers: dict[str, Entry] | None) -> None:
        """Take the challenge in (its answers registered to be judged) and report what is wrong
        with it; its rows come in `build`."""
        challenge_id = challenge.get("challengeId")
        if answers is None:
            self.without_prediction += 1
            if not self.strict:
                return  # upstream: a challenge without a prediction is left out
        info = self.session.challenge(challenge)
        self.scored.append(info)
        self.rows_per_unit.append(len(info.questions))
        self.question_of_row += self.session.numbers(info)
        self._to_build.append((challenge_id, info, answers))
        self._report_undefined_traps(challenge_id, info)
        if answers:
            self.session.register(info, answers)
        if answers and not answers.keys() <= info.question_ids:
            for qid in sorted(answers.keys() - info.question_ids, key=str):
                self.log.add(
                    "answer for a question the challenge does not have; ignored",
                    field=f"{challenge_id}.{qid}",
                    challenge_id=challenge_id,
                    question_id=qid,
                )

    def _report_undefined_traps(self, challenge_id: Any, info: _Challenge) -> None:
        for question in info.traps_missing:
            if (challenge_id, question.qid) not in self._reported_traps:
                self._reported_traps.add((challenge_id, question.qid))
                self.log.add(
                    f"question targets trap {question.trap_id!r}, which the challenge does not define",
                    field=f"{challenge_id}.{question.qid}.targetsTrap",
                    challenge_id=challenge_id,
                    question_id=question.qid,
                )

    def build(self) -> None:
        """Judge every distinct answer and citation, then build the rows, in challenge order."""
        self.session.judge_registered()
        for challenge_id, info, answers in self._to_build:
            self._add_rows(challenge_id, info, answers)

    def _add_rows(self, challenge_id: Any, info: _Challenge, answers: dict[str, Entry] | None) -> None:
        """One row per question, from the memos. This loop runs once per question (100,000
        times in a large call): it looks the memos up inline and appends through bound methods."""
        session = self.session
        split, domain = info.split, info.domain
        add_sample, add_verdict, add_citation, add_confidence = (
            self.samples.append,
            self.verdicts.append,
            self.citations.append,
            self.confidence.append,
        )
        entry_of = (answers or {}).get
        confidence_missing = 0
        for question, qid, verdicts, citations, described in session.memos(info):
            entry = entry_of(qid)
            if entry is None:
                self.unanswered.append(len(self.samples))
                answer = cited = None
                confidence = 0.0
                verdict, scored_citation = session.without_entry(info, question)
            else:
                answer, cited, confidence = entry["answer"], entry["citation"], entry["confidence"]
                verdict = verdicts[answer]
                scored_citation = citations[cited]
                if confidence is None:
                    confidence_missing += 1
                    confidence = 0.5
            add_verdict(verdict)
            add_citation(scored_citation)
            add_confidence(confidence)
            correct, rule, state, _ = verdict
            category, hops, difficulty, answer_format, targets_trap = described
            add_sample(
                {
                    "challenge_id": challenge_id,
                    "question_id": qid,
                    "category": category,
                    "hops": hops,
                    "difficulty": difficulty,
                    "answer_format": answer_format,
                    "targets_trap": targets_trap,
                    "split": split,
                    "domain": domain,
                    "answered": entry is not None,
                    "answer": answer,
                    "citation": cited,
                    "confidence": confidence,
                    "correct": correct,
                    "match": rule,
                    "trap": state,
                    "citation_score": scored_citation[0],
                }
            )
        self.confidence_missing += confidence_missing

    def task_score(self, n_challenges: int, bootstrap: int, seed: int) -> TaskScore:
        mode = self.session.mode
        rules = _column(self.verdicts, 1)
        answered = np.ones(len(self.samples))
        answered[self.unanswered] = 0.0
        arrays = _RowArrays(
            np.repeat(np.arange(len(self.scored), dtype=np.int64), self.rows_per_unit),
            self.question_of_row,
            _column(self.verdicts, 0),
            self.confidence,
            answered,
            _column(self.verdicts, 3),
            _column(self.citations, 1),
            list(self.session.question_numbers),
            self.scored,
        )
        metrics, n, ci95, breakdowns, reliability = _aggregate(arrays, mode, bootstrap, seed)
        n.update(
            {
                "challenges": n_challenges,
                "challenges_scored": len(self.scored),
                "challenges_without_prediction": self.without_prediction,
                "questions": len(self.samples),
                "answered": len(self.samples) - len(self.unanswered),
                "confidence_missing": self.confidence_missing,
            }
        )
        return TaskScore(
            task="dacr",
            scoring=scoring_info(mode),
            metrics=metrics,
            n=n,
            ci95=ci95,
            breakdowns=breakdowns,
            samples=self.samples,
            problems=self.log.problems,
            extra={"reliability": reliability, "match_rules": dict(Counter(rules).most_common())},
        )


def _column(rows: list[tuple], index: int) -> list:
    """The `index`-th values of `rows` (a C-level loop: these lists have a row per question)."""
    return list(map(itemgetter(index), rows))


class _RowArrays:
    """Per-question results as arrays, with the question and challenge of each row."""

    def __init__(
        self,
        unit,
        question,
        correct,
        confidence,
        answered,
        trap_state,
        citation,
        questions: list[_Question],
        challenges: list[_Challenge],
    ):
        self.unit = np.asarray(unit, dtype=np.int64)
        self.question = np.asarray(question, dtype=np.int64)
        self.correct = np.asarray(correct, dtype=np.float64)
        self.confidence = np.asarray(confidence, dtype=np.float64)
        self.answered = np.asarray(answered, dtype=np.float64)
        self.trap_state = np.asarray(trap_state, dtype=np.float64)
        self.citation = np.asarray(citation, dtype=np.float64)
        self.questions = questions
        self.challenges = challenges
        self.n_units = len(challenges)

    def codes(self, dimension: str) -> tuple[np.ndarray, list[str]]:
        """Each row's group under `dimension` as integer codes, and the groups. Labels are
        read once per distinct question (or challenge) and spread to rows by indexing."""
        if dimension in CHALLENGE_LEVEL_DIMENSIONS:
            codes, found = _factorize([getattr(c, dimension) for c in self.challenges])
            return (codes[self.unit] if self.unit.size else self.unit), found
        codes, found = _factorize([getattr(q, dimension) for q in self.questions])
        return (codes[self.question] if self.question.size else self.question), found

    def per_unit(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.unit, weights=weights, minlength=self.n_units)

    def per_unit_group(self, codes: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
        """(n_units, size) sums of `weights` per challenge and group, in one pass."""
        flat = np.bincount(self.unit * size + codes, weights=weights, minlength=self.n_units * size)
        return flat.reshape(self.n_units, size)


class _Matrix:
    """Named columns of per-challenge sums, resampled together so all metrics are paired."""

    def __init__(self, n_units: int):
        self.n_units = n_units
        self.names: dict[str, int] = {}
        self.columns: list[np.ndarray] = []

    def add(self, name: str, per_unit: np.ndarray) -> None:
        self.names[name] = len(self.columns)
        self.columns.append(per_unit)

    def add_block(self, names: list[str], block: np.ndarray) -> None:
        for index, name in enumerate(names):
            self.add(name, block[:, index])

    def stack(self) -> np.ndarray:
        return np.stack(self.columns, axis=1) if self.columns else np.zeros((self.n_units, 0))


def _ece_bins(confidence: np.ndarray, mode: str) -> np.ndarray:
    if mode == "reference":
        return reference.ece_bins(confidence)
    return np.clip(np.floor(confidence * ECE_BINS), 0, ECE_BINS - 1).astype(np.int64)


def _aggregate(rows: _RowArrays, mode: str, n_resamples: int, seed: int):
    strict = mode == "strict"
    empty = np.nan
    matrix = _Matrix(rows.n_units)
    ones = np.ones_like(rows.correct)
    trap_category = np.array([q.category in TRAP_CATEGORIES for q in rows.questions], dtype=np.float64)
    is_trap_question = trap_category[rows.question] if rows.question.size else np.zeros(0)
    trap_defined = np.isfinite(rows.trap_state)
    citation_defined = np.isfinite(rows.citation)
    bins = _ece_bins(rows.confidence, mode)

    matrix.add("questions", rows.per_unit(ones))
    matrix.add("correct", rows.per_unit(rows.correct))
    matrix.add("answered", rows.per_unit(rows.answered))
    matrix.add("confidence", rows.per_unit(rows.confidence))
    matrix.add("confident_correct", rows.per_unit(rows.confidence * rows.correct))
    matrix.add("squared_error", rows.per_unit((rows.confidence - rows.correct) ** 2))
    matrix.add("trap_questions", rows.per_unit(is_trap_question))
    matrix.add("trap_correct", rows.per_unit(is_trap_question * rows.correct))
    matrix.add("trap_defined", rows.per_unit(trap_defined.astype(np.float64)))
    matrix.add("trap_evaded", rows.per_unit(np.where(trap_defined, rows.trap_state, 0.0)))
    matrix.add("citation_defined", rows.per_unit(citation_defined.astype(np.float64)))
    matrix.add("citation_sum", rows.per_unit(np.where(citation_defined, rows.citation, 0.0)))
    binned = bins >= 0
    bin_codes = np.where(binned, bins, 0)
    for suffix, weights in (
        ("count", binned * 1.0),
        ("confidence", binned * rows.confidence),
        ("correct", binned * rows.correct),
    ):
        matrix.add_block(
            [f"bin{b}_{suffix}" for b in range(ECE_BINS)], rows.per_unit_group(bin_codes, ECE_BINS, weights)
        )
    unit_questions = matrix.columns[matrix.names["questions"]]
    unit_accuracy = ratio(matrix.columns[matrix.names["correct"]], unit_questions, 0.0)
    matrix.add("units", np.ones(rows.n_units))
    matrix.add("passed", (unit_accuracy >= PASS_THRESHOLD).astype(np.float64))
    splits = np.asarray([c.split for c in rows.challenges], dtype=object)
    for split in ("real", "synthetic"):
        in_split = (splits == split).astype(np.float64)
        matrix.add(f"{split}_questions", unit_questions * in_split)
        matrix.add(f"{split}_correct", matrix.columns[matrix.names["correct"]] * in_split)

    breakdown_groups = _add_breakdown_columns(matrix, rows)

    per_unit = matrix.stack()
    totals = per_unit.sum(axis=0)
    boot = Bootstrap(rows.n_units, n_resamples, seed)
    resampled = boot.resampled_sums(per_unit)
    col = matrix.names

    def headline(t: np.ndarray) -> dict[str, np.ndarray]:
        get = lambda name: t[..., col[name]]  # noqa: E731
        questions = get("questions")
        corr_minus_conf = sum(np.abs(get(f"bin{b}_correct") - get(f"bin{b}_confidence")) for b in range(ECE_BINS))
        real_acc = ratio(get("real_correct"), get("real_questions"))
        synthetic_acc = ratio(get("synthetic_correct"), get("synthetic_questions"))
        return {
            "accuracy": ratio(get("correct"), questions, empty if strict else 0.0),
            "pass_rate": ratio(get("passed"), get("units"), empty if strict else 0.0),
            "cars": ratio(get("trap_correct"), get("trap_questions")),
            "trap_evasion": ratio(get("trap_evaded"), get("trap_defined"), empty if strict else 1.0),
            "confidence_weighted_accuracy": ratio(
                get("confident_correct"), get("confidence"), empty if strict else 0.0
            ),
            "ece": ratio(corr_minus_conf, questions, empty if strict else 0.0),
            "brier": ratio(get("squared_error"), questions),
            "citation": ratio(get("citation_sum"), get("citation_defined"), empty if strict else 0.0),
            "transfer_gap": np.abs(real_acc - synthetic_acc),
            "mean_confidence": ratio(get("confidence"), questions, empty if strict else 0.0),
            "coverage": ratio(get("answered"), questions),
        }

    point = headline(totals)
    boot_values = headline(resampled) if boot.enabled else {}
    metrics = {name: _scalar(point[name]) for name in HEADLINE_METRICS}
    n = {
        "accuracy": int(totals[col["questions"]]),
        "pass_rate": int(totals[col["units"]]),
        "cars": int(totals[col["trap_questions"]]),
        "trap_evasion": int(totals[col["trap_defined"]]),
        "confidence_weighted_accuracy": int(totals[col["questions"]]),
        "ece": int(totals[col["questions"]]),
        "brier": int(totals[col["questions"]]),
        "citation": int(totals[col["citation_defined"]]),
        "transfer_gap": int(min(totals[col["real_questions"]], totals[col["synthetic_questions"]])),
        "mean_confidence": int(totals[col["questions"]]),
        "coverage": int(totals[col["questions"]]),
    }
    ci95 = _intervals(metrics, boot_values)
    breakdowns = _breakdowns(breakdown_groups, totals, resampled, col, boot.enabled, strict)
    reliability = [
        {
            "bin": b,
            "lower": b / ECE_BINS,
            "upper": (b + 1) / ECE_BINS,
            "count": int(totals[col[f"bin{b}_count"]]),
            "mean_confidence": _scalar(ratio(totals[col[f"bin{b}_confidence"]], totals[col[f"bin{b}_count"]])),
            "accuracy": _scalar(ratio(totals[col[f"bin{b}_correct"]], totals[col[f"bin{b}_count"]])),
        }
        for b in range(ECE_BINS)
    ]
    return (
        metrics,
        n,
        ci95,
        breakdowns,
        {"bins": reliability, "unbinned": int(n["ece"] - sum(r["count"] for r in reliability))},
    )


def _scalar(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _intervals(metrics: dict[str, float | None], boot_values: dict[str, np.ndarray]) -> dict[str, list[float]]:
    out = {}
    for name, value in metrics.items():
        if value is None or name not in boot_values:
            continue
        bounds = interval(boot_values[name])
        if bounds is not None:
            out[name] = bounds
    return out


def _factorize(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes of `labels` and the distinct labels, in order of first appearance."""
    index: dict[str, int] = {}
    codes = [index.setdefault(label, len(index)) for label in labels]
    return np.asarray(codes, dtype=np.int64), list(index)


def _add_breakdown_columns(matrix: _Matrix, rows: _RowArrays) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    passed = matrix.columns[matrix.names["passed"]]
    trap_defined = np.isfinite(rows.trap_state)
    for dimension in BREAKDOWN_DIMENSIONS:
        codes, found = rows.codes(dimension)
        values = sorted(found, key=_sort_key(dimension))
        groups[dimension] = values
        names = [f"{dimension}={value}" for value in found]
        size = len(found)
        matrix.add_block(
            [f"{n}:questions" for n in names], rows.per_unit_group(codes, size, np.ones_like(rows.correct))
        )
        matrix.add_block([f"{n}:correct" for n in names], rows.per_unit_group(codes, size, rows.correct))
        matrix.add_block([f"{n}:confidence" for n in names], rows.per_unit_group(codes, size, rows.confidence))
        if dimension in CHALLENGE_LEVEL_DIMENSIONS:
            unit_codes, _ = _factorize([getattr(c, dimension) for c in rows.challenges])
            in_unit = np.zeros((matrix.n_units, size))
            in_unit[np.arange(matrix.n_units), unit_codes] = 1.0
            matrix.add_block([f"{n}:units" for n in names], in_unit)
            matrix.add_block([f"{n}:passed" for n in names], in_unit * passed[:, None])
        if dimension == "split":
            matrix.add_block(
                [f"{n}:trap_defined" for n in names], rows.per_unit_group(codes, size, trap_defined * 1.0)
            )
            matrix.add_block(
                [f"{n}:trap_evaded" for n in names],
                rows.per_unit_group(codes, size, np.where(trap_defined, rows.trap_state, 0.0)),
            )
    return groups


def _sort_key(dimension: str):
    if dimension == "answer_format":
        return lambda v: (ANSWER_FORMATS.index(v) if v in ANSWER_FORMATS else len(ANSWER_FORMATS), v)
    if dimension == "difficulty":
        order = ("easy", "medium", "hard")
        return lambda v: (order.index(v) if v in order else len(order), v)
    if dimension == "hops":
        return lambda v: (int(v.rstrip("+")) if v.rstrip("+").isdigit() else 99, v)
    return lambda v: v


def _breakdowns(groups, totals, resampled, col, enabled: bool, strict: bool) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for dimension, values in groups.items():
        out[dimension] = {}
        for value in values:
            prefix = f"{dimension}={value}"

            def compute(t: np.ndarray, prefix: str = prefix) -> dict[str, np.ndarray]:
                get = lambda suffix: t[..., col[f"{prefix}:{suffix}"]]  # noqa: E731
                result = {
                    "accuracy": ratio(get("correct"), get("questions")),
                    "mean_confidence": ratio(get("confidence"), get("questions")),
                }
                if f"{prefix}:units" in col:
                    result["pass_rate"] = ratio(get("passed"), get("units"))
                if f"{prefix}:trap_defined" in col:
                    result["trap_evasion"] = ratio(get("trap_evaded"), get("trap_defined"), np.nan if strict else 1.0)
                return result

            point = compute(totals)
            metrics = {name: _scalar(v) for name, v in point.items()}
            n = {"questions": int(totals[col[f"{prefix}:questions"]])}
            n["accuracy"] = n["mean_confidence"] = n["questions"]
            if f"{prefix}:units" in col:
                n["pass_rate"] = int(totals[col[f"{prefix}:units"]])
            if f"{prefix}:trap_defined" in col:
                n["trap_evasion"] = int(totals[col[f"{prefix}:trap_defined"]])
            out[dimension][str(value)] = {
                "metrics": metrics,
                "n": n,
                "ci95": _intervals(metrics, compute(resampled) if enabled else {}),
            }
    return out
