"""Preparation for DACR scoring: what each question and challenge needs, read once, and the caches.

- `PreparedQuestion`: a question's labels (category, hops, difficulty, answer format, the trap
  it targets) and its mode's judges of one answer and one citation (`dacr_rules`);
- `PreparedChallenge`: a challenge's split, domain, document (prepared by the mode's rules) and
  prepared questions;
- across calls, prepared challenges are cached by content (the mode and every field scoring
  reads), and strict gold forms by the gold answer, its aliases and the question text (answer
  formats need them in both modes): scoring the same benchmark again, in another mode or
  another run in the same process, skips document indexing and gold parsing. `clear_caches()`
  forgets them (benchmarks time cold starts with it; tests check that caches never change a score);
- within one call, a `Session`: prepared challenges by object identity (copies of a challenge
  under new ids share them), and memos so that the same answer or citation to the same question
  is judged once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from crosstrace.errors import DataError
from crosstrace.scoring.dacr_rules import DacrRules
from crosstrace.scoring.dacr_strict import StrictGold
from crosstrace.scoring.predictions import Entry
from crosstrace.scoring.quantities import lookup_unit
from crosstrace.sources.dacr_bench import SPLITS

TRAP_VALUE = {None: np.nan, "evaded": 1.0, "fell": 0.0}  # a trap side as a number to average


def challenge_split(challenge: dict[str, Any]) -> str:
    """The challenge's split; v1.0 files have none and it follows from the source type. Any other
    split is a DataError: it would become a third split and move the transfer gap silently."""
    split = challenge.get("split")
    if split:
        if split not in SPLITS:
            raise DataError(
                f"challenge {challenge.get('challengeId')!r}",
                None,
                "split",
                f"{split!r} is not a DACR-Bench split: expected one of {', '.join(SPLITS)}",
            )
        return split
    source = challenge.get("source") if isinstance(challenge.get("source"), dict) else {}
    return "synthetic" if source.get("type") == "engine" else "real"


def _check_gold(challenge: dict[str, Any], question: dict[str, Any]) -> None:
    """A NaN or infinite gold answer is a DataError: as text ("nan") an answer "NaN" would match it."""
    gold = question.get("goldAnswer")
    if isinstance(gold, float) and not math.isfinite(gold):
        raise DataError(
            f"challenge {challenge.get('challengeId')!r}",
            None,
            f"{question.get('questionId')}.goldAnswer",
            f"{gold} is not an answer: give the value as text, or a finite number",
        )


def hops_label(hops: Any) -> str:
    if isinstance(hops, bool) or not isinstance(hops, (int, float)) or not math.isfinite(hops):
        return "unknown"
    return "6+" if hops >= 6 else str(int(hops))


class PreparedQuestion:
    """What scoring needs of one question, prepared once per distinct question and mode.

    `judge(answer)` gives (correct, rule, trap side); `cite(citation, pointed memo)` the
    citation's score (None: not scorable), or is None when no document was given."""

    __slots__ = (
        "answer_format",
        "category",
        "cite",
        "described",
        "difficulty",
        "hops",
        "judge",
        "qid",
        "question",
        "strict_gold",
        "trap",
        "trap_id",
        "trap_missing",
    )

    def __init__(
        self, question: dict[str, Any], traps: dict[Any, dict[str, Any]], rules: DacrRules, document: Any = None
    ):
        self.question = question
        self.qid = question.get("questionId")
        self.category = str(question.get("category") or "unknown")
        self.hops = hops_label(question.get("hops"))
        self.difficulty = str(question.get("difficulty") or "unknown")
        self.trap_id = question.get("targetsTrap") or None
        self.trap = traps.get(self.trap_id) if self.trap_id else None
        self.trap_missing = self.trap_id is not None and self.trap is None
        self.strict_gold = strict_gold(question)
        self.answer_format = self.strict_gold.answer_format
        self.judge = rules.answer_judge(self)
        self.cite = rules.citation_judge(self, document) if document is not None else None
        # What every sample row says about its question (no reference text): category, hops,
        # difficulty, answer format, whether it targets a trap.
        self.described = (
            self.category,
            question.get("hops"),
            question.get("difficulty"),
            self.answer_format,
            self.trap_id is not None,
        )


class PreparedChallenge:
    """A challenge's split, domain, document and prepared questions."""

    __slots__ = (
        "document",
        "document_empty",
        "domain",
        "duplicate_traps",
        "question_ids",
        "questions",
        "split",
        "traps_missing",
    )

    def __init__(self, challenge: dict[str, Any], rules: DacrRules):
        self.split = challenge_split(challenge)
        self.domain = str((challenge.get("document") or {}).get("domain") or "unknown")
        self.document = rules.document(challenge)
        text = (challenge.get("document") or {}).get("text")
        self.document_empty = not (isinstance(text, str) and text.strip())  # reported: nothing to answer from
        traps: dict[Any, dict[str, Any]] = {}
        self.duplicate_traps: list[Any] = []  # trap ids defined twice: the first definition is used, as upstream's
        for trap in challenge.get("traps") or []:
            if isinstance(trap, dict):
                if trap.get("trapId") in traps:
                    self.duplicate_traps.append(trap.get("trapId"))
                traps.setdefault(trap.get("trapId"), trap)
        questions = [q for q in challenge.get("questions") or [] if isinstance(q, dict)]
        for question in questions:
            _check_gold(challenge, question)
        self.questions = [PreparedQuestion(q, traps, rules, self.document) for q in questions]
        self.question_ids = {q.qid for q in self.questions}
        self.traps_missing = [q for q in self.questions if q.trap_missing]  # reported, once per question


_CHALLENGE_CACHE: dict[tuple, PreparedChallenge] = {}
_CHALLENGE_CACHE_LIMIT = 1_000
_GOLD_CACHE: dict[tuple, StrictGold] = {}
_GOLD_CACHE_LIMIT = 50_000


def clear_caches() -> None:
    """Forget prepared challenges, gold answers and memoized unit lookups."""
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


def strict_gold(question: dict[str, Any]) -> StrictGold:
    """The question's strict gold forms, cached by gold answer, aliases and question text."""
    key = (repr(question.get("goldAnswer")), repr(question.get("goldAnswerAliases")), repr(question.get("text")))
    gold = _GOLD_CACHE.get(key)
    if gold is None:
        if len(_GOLD_CACHE) >= _GOLD_CACHE_LIMIT:
            _GOLD_CACHE.clear()
        gold = _GOLD_CACHE[key] = StrictGold(question)
    return gold


class Session:
    """One scoring call: prepared challenges by object identity, and memos so that the same
    answer or citation to the same question is judged once.

    The call first registers every answer and citation in the memos (`register`), then judges
    them all (`judge_registered`), then builds the rows from the memos. Memo values carry what
    every row needs: a verdict is (correct, rule, trap side, trap side as 1.0/0.0/NaN); a
    citation is (score, score or NaN)."""

    def __init__(self, rules: DacrRules):
        self.rules = rules
        self._by_identity: dict[tuple[int, ...], PreparedChallenge] = {}
        self._keep_alive: list[Any] = []  # ids are only unique while their objects live
        # Per question, small dicts keyed by the answer (or citation) text: cheaper to look up
        # than one large dict keyed by (question, text) tuples.
        self._verdicts: dict[PreparedQuestion, dict[str, tuple[bool, str, str | None, float]]] = {}
        self._citations: dict[PreparedQuestion, dict[str, tuple[float | None, float]]] = {}
        self._memos: dict[PreparedChallenge, list[tuple[PreparedQuestion, Any, dict, dict, tuple]]] = {}
        self._pointed: dict[PreparedChallenge, dict[str, int]] = {}  # what citations point at, per document
        self.question_numbers: dict[PreparedQuestion, int] = {}  # each distinct prepared question, numbered
        self._numbers: dict[PreparedChallenge, list[int]] = {}

    def challenge(self, challenge: dict[str, Any]) -> PreparedChallenge:
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
            key = _content_key(challenge, self.rules.mode)
            prepared = _CHALLENGE_CACHE.get(key)
            if prepared is None:
                if len(_CHALLENGE_CACHE) >= _CHALLENGE_CACHE_LIMIT:
                    _CHALLENGE_CACHE.clear()
                prepared = _CHALLENGE_CACHE[key] = PreparedChallenge(challenge, self.rules)
            self._by_identity[identity] = prepared
        return prepared

    def numbers(self, challenge: PreparedChallenge) -> list[int]:
        """The numbers of the challenge's questions, in order of first appearance in this call."""
        numbers = self._numbers.get(challenge)
        if numbers is None:
            seen = self.question_numbers
            numbers = self._numbers[challenge] = [seen.setdefault(q, len(seen)) for q in challenge.questions]
        return numbers

    def memos(self, challenge: PreparedChallenge) -> list[tuple[PreparedQuestion, Any, dict, dict, tuple]]:
        """(question, its id, its verdicts by answer, its citation scores by citation, what its
        sample rows say of it) for each question of the challenge."""
        memos = self._memos.get(challenge)
        if memos is None:
            memos = self._memos[challenge] = [
                (q, q.qid, self._verdicts.setdefault(q, {}), self._citations.setdefault(q, {}), q.described)
                for q in challenge.questions
            ]
        return memos

    def register(self, challenge: PreparedChallenge, answers: dict[str, Entry]) -> None:
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
                judge, cite = question.judge, question.cite
                for answer in verdicts:
                    correct, rule, side = judge(answer)
                    verdicts[answer] = (correct, rule, side, TRAP_VALUE[side])
                for citation in citations:
                    score = cite(citation, pointed)
                    citations[citation] = (score, np.nan if score is None else score)

    def without_entry(
        self, challenge: PreparedChallenge, question: PreparedQuestion
    ) -> tuple[tuple, tuple[float | None, float]]:
        """(verdict, citation) of a question that has no answer entry: wrong, with the mode's
        trap side for a trap question, and the citation scored as an empty one."""
        side = self.rules.no_entry_trap_side if question.trap_id else None
        citations = self._citations[question]
        if "" not in citations:
            score = question.cite("", self._pointed.setdefault(challenge, {}))
            citations[""] = (score, np.nan if score is None else score)
        return (False, "no_entry", side, TRAP_VALUE[side]), citations[""]
