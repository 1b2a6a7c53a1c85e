"""Multiple-choice (A-J) scoring for WildSci-style records: final letter, or option log-likelihood.

    from crosstrace.scoring.mcq import extract_letter, score_mcq, score_mcq_loglik
    extract_letter("... so the answer is (C).")          # "C"
    extract_letter("The answer is A or C.")               # None: two letters named, scored wrong
    score = score_mcq(records, outputs)                   # records: {"answer", "discipline", "nc_subdomain", ...}
    score.metrics["accuracy"], score.breakdowns["discipline"]

Final-letter extraction (MCQ_VERSION): reasoning blocks (`<think>...</think>`) are dropped;
the answer is the LAST explicit answer statement ("answer is C", "Answer: (C)", "\\boxed{C}",
"final answer: C", "option C is correct", "I choose C"); when there is none, an output that is just a letter
("C", "(C)", "C. <option text>", "**C**") is taken. A statement naming two different letters
("A or C", "A and C", "A/C") gives no answer, which is scored wrong: hedging across options must
not earn credit. No letter at all is wrong too, and counted (`no_answer`).

Log-likelihood scoring picks the option with the highest log-probability (the caller decides
whether log-probs are summed or length-normalised, and says so); a tie between the best
options is scored wrong for the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from crosstrace.mcq.format import LETTERS, extract_letter
from crosstrace.scoring.stats import DEFAULT_RESAMPLES, mean_and_interval
from crosstrace.scoring.types import TaskScore

MCQ_VERSION = "crosstrace-mcq-final-letter-1.0"
# Log-likelihood selection: the option with the highest finite log-prob; a tie at the top is no answer.
MCQ_LOGLIK_VERSION = "crosstrace-mcq-loglik-1.0"


def _record_fields(record: dict[str, Any]) -> tuple[str | None, str, str]:
    answer = record.get("answer")
    answer = (
        answer.strip().upper()
        if isinstance(answer, str) and answer.strip().upper() in LETTERS and answer.strip()
        else None
    )
    discipline = str(record.get("discipline") or "unknown")
    subdomain = str(record.get("nc_subdomain") or record.get("subdomain") or "unknown")
    return answer, discipline, subdomain


def _score_predictions(
    records: Sequence[dict[str, Any]],
    predicted: list[str | None],
    scoring: dict[str, str],
    extra_rows: list[dict[str, Any]],
    bootstrap: int,
    seed: int,
) -> TaskScore:
    problems: list[dict[str, Any]] = []
    correct = np.zeros(len(records))
    answered = np.zeros(len(records))
    disciplines, subdomains, samples = [], [], []
    for index, (record, letter, extra) in enumerate(zip(records, predicted, extra_rows, strict=True)):
        gold, discipline, subdomain = _record_fields(record)
        if gold is None:
            problems.append(
                {
                    "index": index,
                    "id": record.get("id"),
                    "field": "answer",
                    "reason": f"gold answer {record.get('answer')!r} is not one letter A-J; scored wrong",
                }
            )
        correct[index] = float(gold is not None and letter == gold)
        answered[index] = float(letter is not None)
        disciplines.append(discipline)
        subdomains.append(subdomain)
        samples.append(
            {
                "index": index,
                "id": record.get("id"),
                "discipline": discipline,
                "subdomain": subdomain,
                "predicted": letter,
                "correct": bool(correct[index]),
                **extra,
            }
        )

    accuracy, accuracy_ci = mean_and_interval(correct, bootstrap, seed)
    answer_rate, answer_rate_ci = mean_and_interval(answered, bootstrap, seed)
    metrics = {"accuracy": accuracy, "answer_rate": answer_rate}
    ci95 = {name: ci for name, ci in (("accuracy", accuracy_ci), ("answer_rate", answer_rate_ci)) if ci is not None}
    breakdowns: dict[str, dict[str, dict[str, Any]]] = {}
    for dimension, labels in (("discipline", disciplines), ("subdomain", subdomains)):
        breakdowns[dimension] = {}
        labels_array = np.asarray(labels, dtype=object)
        for value in sorted(set(labels)):
            mask = labels_array == value
            value_accuracy, value_ci = mean_and_interval(correct[mask], bootstrap, seed)
            breakdowns[dimension][value] = {
                "metrics": {"accuracy": value_accuracy},
                "n": {"accuracy": int(mask.sum())},
                "ci95": {"accuracy": value_ci} if value_ci else {},
            }
    return TaskScore(
        task="mcq",
        scoring=scoring,
        metrics=metrics,
        n={"accuracy": len(records), "answer_rate": len(records), "no_answer": int(len(records) - answered.sum())},
        ci95=ci95,
        breakdowns=breakdowns,
        samples=samples,
        problems=problems,
    )


def score_mcq(
    records: Sequence[dict[str, Any]], outputs: Sequence[str], *, bootstrap: int = DEFAULT_RESAMPLES, seed: int = 0
) -> TaskScore:
    """Accuracy of the final letter of each output, overall and per discipline and subdomain."""
    if len(records) != len(outputs):
        raise ValueError(
            f"score_mcq needs one output per record, got {len(outputs)} outputs for {len(records)} records"
        )
    predicted = [extract_letter(output) for output in outputs]
    rows = [{"output": output} for output in outputs]
    return _score_predictions(
        records, predicted, {"mode": "final-letter", "version": MCQ_VERSION}, rows, bootstrap, seed
    )


def pick_option(option_logprobs: dict[str, float]) -> str | None:
    """The letter with the highest log-probability; None for a tie at the top or no finite value."""
    finite = {
        letter.strip().upper(): float(lp)
        for letter, lp in option_logprobs.items()
        if lp is not None and math.isfinite(float(lp))
    }
    if not finite:
        return None
    best = max(finite.values())
    winners = [letter for letter, lp in finite.items() if lp == best]
    return winners[0] if len(winners) == 1 else None


def score_mcq_loglik(
    records: Sequence[dict[str, Any]],
    option_logprobs: Sequence[dict[str, float]],
    *,
    normalization: str = "sum",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> TaskScore:
    """Accuracy of the highest log-likelihood option per record. `normalization` records how
    the caller computed the per-option numbers ("sum" of token log-probs, or "mean" per token)."""
    if len(records) != len(option_logprobs):
        raise ValueError(
            f"score_mcq_loglik needs one log-prob table per record, got {len(option_logprobs)} for {len(records)} records"
        )
    predicted = [pick_option(table) for table in option_logprobs]
    rows = [{"option_logprobs": dict(table)} for table in option_logprobs]
    return _score_predictions(
        records, predicted, {"mode": f"loglik-{normalization}", "version": MCQ_LOGLIK_VERSION}, rows, bootstrap, seed
    )
