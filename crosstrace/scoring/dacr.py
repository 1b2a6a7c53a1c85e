"""Score DACR answers against DACR-Bench challenges, in `strict` (default) or `reference` mode.

    from crosstrace.sources.dacr_bench import load_benchmark
    from crosstrace.scoring.predictions import load_predictions
    from crosstrace.scoring.dacr import score_dacr

    bench = load_benchmark("../shared/data/dacr-bench/dacr_bench_v1.1_mini.json")
    predictions, problems = load_predictions("preds.json")
    score = score_dacr(bench.challenges, predictions, mode="strict")
    score.metrics["accuracy"], score.ci95["accuracy"], score.breakdowns["category"]

One call, in order:
1. read the predictions (`predictions`: bad entries are reported in `.problems`, never raised);
2. take each challenge's prepared questions and document (`dacr_prepare`: cached by content)
   and register its answers and citations; the mode's rules object (`dacr_rules`, chosen once
   here) decides what a challenge without a prediction counts as;
3. judge each distinct answer and citation once per question (`dacr_prepare.Session`), with the
   mode's answer rule (`dacr_strict` or `dacr_reference`) and citation rule;
4. build one sample row per question, in challenge order (no reference text in it): a question
   with no answer entry is wrong and has confidence 0; an entry without a confidence has the mode's
   `missing_confidence` for where the answers come from (`answers_from`): 0.5 (upstream's runner's
   default) except in reference mode on a predictions file, 0 (upstream's scorer); each challenge
   with such entries is reported once;
5. aggregate the metrics, breakdowns and bootstrap intervals (`dacr_aggregate`, which defines
   each metric).
For a single answer to a single question, `dacr_verdict.judge_answer` gives the verdict step 3
gives.

Upstream's per-difficulty breakdown looks difficulty up by question id across all challenges
(so every "q01" gets the first challenge's difficulty); that is a bug no published number depends
on, and both modes use each question's own difficulty.
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Iterator
from operator import itemgetter
from typing import Any, Literal

import numpy as np

from crosstrace.scoring import dacr_aggregate
from crosstrace.scoring.dacr_aggregate import HEADLINE_METRICS, RowArrays
from crosstrace.scoring.dacr_prepare import PreparedChallenge, Session, clear_caches
from crosstrace.scoring.dacr_rules import SCORING_MODES, DacrRules, rules_for
from crosstrace.scoring.predictions import LENIENT, Entry, ProblemLog, read_predictions_object
from crosstrace.scoring.stats import DEFAULT_RESAMPLES
from crosstrace.scoring.types import TaskScore

__all__ = ["HEADLINE_METRICS", "SCORING_MODES", "clear_caches", "score_dacr", "scoring_info"]


def scoring_info(mode: str) -> dict[str, str]:
    """How `mode` scores ({"mode", "version"}), as `TaskScore.scoring` records it."""
    return rules_for(mode).info()


def score_dacr(
    challenges: Any,
    predictions: Any,
    mode: str = "strict",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    answers_from: Literal["predictions", "outputs"] = "predictions",
) -> TaskScore:
    """Score `predictions` ({challengeId: {qid: entry}} or upstream's list) against `challenges`
    (a list of DACR-Bench challenge dicts, or a `Benchmark`). `answers_from`: "predictions" (a
    predictions file's answers, read by the mode's `reading`) or "outputs" (answers parsed from raw
    model outputs by `dacr_parse`); it decides a missing confidence. Bad entries are reported in
    `.problems`, never raised."""
    rules = rules_for(mode)
    challenge_list = list(getattr(challenges, "challenges", challenges))
    with _cyclic_gc_paused():
        return _score(challenge_list, predictions, rules, bootstrap, seed, answers_from)


def _score(
    challenge_list: list[dict[str, Any]],
    predictions: Any,
    rules: DacrRules,
    bootstrap: int,
    seed: int,
    answers_from: str,
) -> TaskScore:
    """`score_dacr`'s work: read the predictions, register every answer, judge them, build the
    rows, aggregate."""
    log = ProblemLog("predictions")
    reading = rules.reading if answers_from == "predictions" else LENIENT
    by_challenge: dict[str, dict[str, Entry]] = read_predictions_object(predictions, log, reading)
    known_ids = {c.get("challengeId") for c in challenge_list}
    for challenge_id in by_challenge:
        if challenge_id not in known_ids:
            log.add(
                "prediction for a challenge that is not in the benchmark; ignored",
                field=challenge_id,
                challenge_id=challenge_id,
            )
    rows = _Rows(Session(rules), log, rules.missing_confidence[answers_from])
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

    def __init__(self, session: Session, log: ProblemLog, missing_confidence: float):
        self.session = session
        self.missing_confidence = missing_confidence
        self.rules = session.rules
        self.log = log
        self.samples: list[dict[str, Any]] = []
        # Per row, the memo values as they are (split into columns once, at the end).
        self.verdicts: list[tuple[bool, str, str | None, float]] = []
        self.citations: list[tuple[float | None, float]] = []
        self.confidence: list[float] = []
        self.unanswered: list[int] = []  # the rows of questions with no answer entry
        self.scored: list[PreparedChallenge] = []  # the challenges scored: the bootstrap's units
        self.rows_per_unit: list[int] = []
        self.question_of_row: list[int] = []
        self.confidence_missing = 0
        self.without_prediction = 0
        self._reported_traps: set[tuple[Any, Any]] = set()
        self._to_build: list[tuple[Any, PreparedChallenge, dict[str, Entry] | None]] = []

    def add_challenge(self, challenge: dict[str, Any], answers: dict[str, Entry] | None) -> None:
        """Take the challenge in (its answers registered to be judged) and report what is wrong
        with it; its rows come in `build`."""
        challenge_id = challenge.get("challengeId")
        if answers is None:
            self.without_prediction += 1
            if not self.rules.scores_challenges_without_prediction:
                return  # upstream: a challenge without a prediction is left out
        info = self.session.challenge(challenge)
        self.scored.append(info)
        self.rows_per_unit.append(len(info.questions))
        self.question_of_row += self.session.numbers(info)
        self._to_build.append((challenge_id, info, answers))
        self._report_undefined_traps(challenge_id, info)
        if info.document_empty:
            self.log.add(
                "the challenge's document is empty: its questions cannot be answered from it",
                field=f"{challenge_id}.document.text",
                challenge_id=challenge_id,
            )
        for trap_id in info.duplicate_traps:
            self.log.add(
                f"trap id {trap_id!r} is defined twice; its questions use the first definition, as upstream's scorer does",
                field=f"{challenge_id}.traps",
                challenge_id=challenge_id,
            )
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

    def _report_undefined_traps(self, challenge_id: Any, info: PreparedChallenge) -> None:
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

    def _add_rows(self, challenge_id: Any, info: PreparedChallenge, answers: dict[str, Entry] | None) -> None:
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
        missing_confidence = self.missing_confidence
        confidence_missing = []
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
                    confidence_missing.append(qid)
                    confidence = missing_confidence
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
        if confidence_missing:
            self.confidence_missing += len(confidence_missing)
            self.log.add(
                f"no confidence for {', '.join(map(str, confidence_missing))}; scored as {missing_confidence:g}",
                field=f"{challenge_id}.confidence",
                challenge_id=challenge_id,
            )

    def task_score(self, n_challenges: int, bootstrap: int, seed: int) -> TaskScore:
        match_rules = _column(self.verdicts, 1)
        answered = np.ones(len(self.samples))
        answered[self.unanswered] = 0.0
        arrays = RowArrays(
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
        metrics, n, ci95, breakdowns, reliability = dacr_aggregate.aggregate(arrays, self.rules, bootstrap, seed)
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
            scoring=self.rules.info(),
            metrics=metrics,
            n=n,
            ci95=ci95,
            breakdowns=breakdowns,
            samples=self.samples,
            problems=self.log.problems,
            extra={"reliability": reliability, "match_rules": dict(Counter(match_rules).most_common())},
        )


def _column(rows: list[tuple], index: int) -> list:
    """The `index`-th values of `rows` (a C-level loop: these lists have a row per question)."""
    return list(map(itemgetter(index), rows))
