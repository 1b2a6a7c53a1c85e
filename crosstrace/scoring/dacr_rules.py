"""The two DACR scoring modes as rules objects: one per mode, chosen once by name (`rules_for`).

`score_dacr` asks its rules object wherever the modes differ and never tests the mode's name:

| | `ReferenceRules` (upstream evaluate.ts) | `StrictRules` (the project's) |
| --- | --- | --- |
| answer rule and trap side | `dacr_reference` (an answer asserting the planted value is scored by the answer rule; the trap side by containment) | `dacr_strict` (such an answer is wrong; the side by value) |
| citation score | upstream's scoreCitation (`dacr_reference`) | `dacr_citation` |
| challenge without a prediction | left out of every metric | all its questions wrong |
| trap question without an answer entry | fell | no side |
| trap whose correct and planted values are equal | containment rule | no side |
| headline metric with nothing to average (`undefined`) | 0 (trap evasion: 1.0) | None |
| ECE bins | [b/10, (b+1)/10) in floating point; 1.0 in no bin | [b/10, (b+1)/10), 1.0 in the last |
| reading a predictions file (`reading`) | `UPSTREAM_SCORER`: as evaluate.ts | `LENIENT` |
| missing confidence, predictions file / raw outputs | 0 (evaluate.ts) / 0.5 (upstream's runner) | 0.5 / 0.5 |

A rules object prepares what it needs of a question or document once (`answer_judge`,
`citation_judge`, `document`: called by `dacr_prepare`) and hands back functions that judge one
answer or one citation: the per-answer work holds no mode test either.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from crosstrace.scoring import dacr_reference as reference
from crosstrace.scoring.dacr_citation import EvidenceIndex
from crosstrace.scoring.dacr_strict import STRICT_VERSION, trap_targets
from crosstrace.scoring.predictions import LENIENT, UPSTREAM_SCORER, PredictionsReading

if TYPE_CHECKING:
    from crosstrace.scoring.dacr_prepare import PreparedQuestion

ECE_BINS = 10

# (correct, rule, trap side: "fell", "evaded" or None) of one answer.
AnswerJudge = Callable[[str], tuple[bool, str, "str | None"]]
# The score of one citation (None: the question cannot be scored on citations), given the
# document's memo of the paragraphs each citation points at (shared by its questions).
CitationJudge = Callable[[str, dict[str, int]], "float | None"]


class DacrRules(ABC):
    """What a scoring mode decides; each subclass sets these attributes and methods."""

    mode: str
    version: str
    # Whether a challenge without a prediction is scored (all its questions wrong) or left out.
    scores_challenges_without_prediction: bool
    # The trap side of a trap question that has no answer entry.
    no_entry_trap_side: str | None
    # A headline metric's value when it has nothing to average; a metric not listed is None.
    undefined: Mapping[str, float]
    # How a predictions file's odd values are read (crosstrace.scoring.predictions).
    reading: PredictionsReading
    # The confidence an answer entry without one is scored with, by where the answers come from:
    # "predictions" (a file of parsed answers, what upstream's scorer reads) or "outputs" (raw model
    # outputs parsed here, the job of upstream's runner).
    missing_confidence: Mapping[str, float]

    def info(self) -> dict[str, str]:
        """How the scores were made, for `TaskScore.scoring`."""
        return {"mode": self.mode, "version": self.version}

    @abstractmethod
    def document(self, challenge: dict[str, Any]) -> Any:
        """The challenge's document, prepared once for `citation_judge`."""

    @abstractmethod
    def answer_judge(self, question: PreparedQuestion) -> AnswerJudge:
        """The function that judges one answer to `question`."""

    @abstractmethod
    def citation_judge(self, question: PreparedQuestion, document: Any) -> CitationJudge:
        """The function that scores one citation given for `question` (`document`: from `document`)."""

    @abstractmethod
    def ece_bins(self, confidence: np.ndarray) -> np.ndarray:
        """Each confidence's calibration bin, 0 to ECE_BINS - 1, or -1 for none."""


class StrictRules(DacrRules):
    mode = "strict"
    version = STRICT_VERSION
    scores_challenges_without_prediction = True
    no_entry_trap_side = None
    undefined: Mapping[str, float] = MappingProxyType({})
    reading = LENIENT
    missing_confidence: Mapping[str, float] = MappingProxyType({"predictions": 0.5, "outputs": 0.5})

    def document(self, challenge: dict[str, Any]) -> EvidenceIndex:
        return EvidenceIndex(challenge)

    def answer_judge(self, question: PreparedQuestion) -> AnswerJudge:
        wrong, right = trap_targets(question.trap)
        return functools.partial(question.strict_gold.assess, wrong=wrong, right=right)

    def citation_judge(self, question: PreparedQuestion, document: EvidenceIndex) -> CitationJudge:
        asked = question.question
        return lambda citation, pointed: document.score(citation, asked, pointed)

    def ece_bins(self, confidence: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(confidence * ECE_BINS), 0, ECE_BINS - 1).astype(np.int64)


class ReferenceRules(DacrRules):
    mode = "reference"
    version = "dacr-bench-evaluate.ts"
    scores_challenges_without_prediction = False
    no_entry_trap_side = "fell"
    undefined: Mapping[str, float] = MappingProxyType(
        {
            "accuracy": 0.0,
            "pass_rate": 0.0,
            "trap_evasion": 1.0,
            "confidence_weighted_accuracy": 0.0,
            "ece": 0.0,
            "citation": 0.0,
            "mean_confidence": 0.0,
        }
    )
    reading = UPSTREAM_SCORER
    # evaluate.ts reads `confidence ?? 0`; its runner, parsing a model's reply, writes 0.5 for none.
    missing_confidence: Mapping[str, float] = MappingProxyType({"predictions": 0.0, "outputs": 0.5})

    def document(self, challenge: dict[str, Any]) -> reference.ReferenceDocument:
        text = (challenge.get("document") or {}).get("text")
        return reference.ReferenceDocument(text if isinstance(text, str) else "")

    def answer_judge(self, question: PreparedQuestion) -> AnswerJudge:
        gold = reference.ReferenceGold(question.question)
        trap = reference.ReferenceTrap(question.trap) if question.trap is not None else None

        def judge(answer: str) -> tuple[bool, str, str | None]:
            rule = reference.match_answer(answer, gold)
            evaded = trap.evasion(answer) if trap is not None else None
            return rule != "none", rule, (None if evaded is None else ("evaded" if evaded else "fell"))

        return judge

    def citation_judge(self, question: PreparedQuestion, document: reference.ReferenceDocument) -> CitationJudge:
        cited = reference.ReferenceCitation(question.question)
        return lambda citation, pointed: cited.score(citation, document)

    def ece_bins(self, confidence: np.ndarray) -> np.ndarray:
        return reference.ece_bins(confidence)


RULES: Mapping[str, DacrRules] = MappingProxyType({rules.mode: rules for rules in (StrictRules(), ReferenceRules())})
SCORING_MODES = tuple(RULES)


def rules_for(mode: str) -> DacrRules:
    """The rules object of `mode` ("strict" or "reference"); ValueError for any other name."""
    if mode not in SCORING_MODES:
        raise ValueError(f"unknown scoring mode {mode!r}; expected one of {SCORING_MODES}")
    return RULES[mode]
