"""Blind baselines and letter balance: can a question be answered without reasoning?

Baselines that never reason, each picking one option per question:

- `longest`: the option with the most characters;
- `word_overlap`: the option sharing the most distinct content words with the question
  (lowercased words and numbers, English stop words removed);
- `embedding`: the option whose all-MiniLM-L6-v2 embedding is closest to the question's. A
  question is longer than the model's 256-word-piece window, so its embedding is the mean of
  the embeddings of its lines, each within the window;
- `central_option`: the option whose embedding is closest, on average, to the nine others: it
  never reads the question, and catches distractors gathered around the answer.

When several options tie for a baseline's top score, it gets 1/k of a point if the answer is
among the k tied (its expected score when it breaks ties at random). With ten options, chance
is 10%; the target is at most 30% for every baseline on every config.

Letter balance: a chi-square test of the answer letters against a uniform spread over A-J.

An `AuditReport` (per config and per generator) can be saved and loaded again: the scoring of
every question takes minutes, so bench/bench_mcq.py saves it and the build can put it in the
card, after checking that it was computed on the very same questions (`questions_digest`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chisquare
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from crosstrace.jsonio import dumps
from crosstrace.mcq.options import rng_for
from crosstrace.mcq.record import LETTERS

BASELINES = ("longest", "word_overlap", "embedding", "central_option")
EMBEDDING_BASELINES = ("embedding", "central_option")
CHANCE = 1 / len(LETTERS)
TARGET = 0.30
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")

Embedder = Callable[[Sequence[str]], np.ndarray]


def content_words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in ENGLISH_STOP_WORDS}


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def options_of(record: dict[str, Any]) -> list[str]:
    return [record["options"][letter] for letter in LETTERS]


def tie_credit(scores: Sequence[float], answer_index: int) -> float:
    best = max(scores)
    tied = [i for i, score in enumerate(scores) if score == best]
    return 1 / len(tied) if answer_index in tied else 0.0


def longest_scores(record: dict[str, Any]) -> list[float]:
    return [float(len(option)) for option in options_of(record)]


def overlap_scores(record: dict[str, Any]) -> list[float]:
    question = content_words(record["question"])
    return [float(len(question & content_words(option))) for option in options_of(record)]


def embedding_scores(
    records: Sequence[dict[str, Any]], embed: Embedder, known: dict[str, np.ndarray] | None = None
) -> tuple[list[list[float]], list[list[float]]]:
    """Per question: each option's cosine with the question, and its mean cosine with the other options.

    Every distinct text is embedded once; `known` holds vectors already computed (same model).
    """
    vectors = dict(known or {})
    texts = sorted(
        {text for record in records for text in (*lines(record["question"]), *options_of(record))} - vectors.keys()
    )
    if texts:
        vectors.update(zip(texts, embed(texts), strict=True))
    to_question, to_options = [], []
    for record in records:
        question = np.mean([vectors[line] for line in lines(record["question"])], axis=0)
        question /= np.linalg.norm(question) or 1.0
        options = np.stack([vectors[option] for option in options_of(record)])
        between = options @ options.T
        np.fill_diagonal(between, 0.0)
        to_question.append([round(float(value), 6) for value in options @ question])
        to_options.append([round(float(value), 6) for value in between.sum(axis=1) / (len(LETTERS) - 1)])
    return to_question, to_options


@dataclass
class BaselineResult:
    """Accuracy of each baseline over some questions (`n` per baseline: the embedding one may be sampled)."""

    accuracy: dict[str, float] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)

    def passes(self, target: float = TARGET) -> bool:
        return all(value <= target for value in self.accuracy.values())


def _score(credits: dict[str, list[float]]) -> BaselineResult:
    return BaselineResult(
        accuracy={name: float(np.mean(values)) for name, values in credits.items() if values},
        n={name: len(values) for name, values in credits.items() if values},
    )


def audit_baselines(
    records: Sequence[dict[str, Any]],
    embed: Embedder | None,
    embedding_sample: int | None = None,
    seed: int = 0,
    known: dict[str, np.ndarray] | None = None,
) -> tuple[BaselineResult, dict[str, BaselineResult]]:
    """Baseline accuracies over `records`, overall and by `source`.

    `embed=None` leaves the embedding baselines out. `embedding_sample` caps how many questions
    they score (a seeded sample, for builds that must stay fast); None scores all of them.
    """
    sampled = list(range(len(records)))
    if embed is None:
        sampled = []
    elif embedding_sample is not None and len(records) > embedding_sample:
        sampled = sorted(rng_for(seed, "audit-sample").sample(sampled, embedding_sample))
    to_question, to_options = embedding_scores([records[i] for i in sampled], embed, known) if sampled else ([], [])
    embedded = {
        i: {"embedding": q, "central_option": o} for i, q, o in zip(sampled, to_question, to_options, strict=True)
    }
    overall: dict[str, list[float]] = defaultdict(list)
    by_source: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i, record in enumerate(records):
        answer = LETTERS.index(record["answer"])
        scores = {"longest": longest_scores(record), "word_overlap": overlap_scores(record), **embedded.get(i, {})}
        for name, values in scores.items():
            credit = tie_credit(values, answer)
            overall[name].append(credit)
            by_source[record["source"]][name].append(credit)
    return _score(overall), {source: _score(credits) for source, credits in sorted(by_source.items())}


def questions_digest(records: Sequence[dict[str, Any]]) -> str:
    """sha256 of a config's questions (id, text, options, answer), whatever their order."""
    rows = sorted((r["id"], r["question"], [r["options"][letter] for letter in LETTERS], r["answer"]) for r in records)
    return hashlib.sha256(dumps(rows).encode("utf-8")).hexdigest()


@dataclass
class AuditReport:
    by_config: dict[str, BaselineResult]
    by_source: dict[str, BaselineResult]
    digests: dict[str, str]  # config -> questions_digest of what was audited
    embedding_sample: int | None  # questions per config scored by the embedding baselines; None: all

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditReport:
        results = {
            key: {name: BaselineResult(**value) for name, value in data[key].items()}
            for key in ("by_config", "by_source")
        }
        return cls(results["by_config"], results["by_source"], dict(data["digests"]), data["embedding_sample"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def audit_configs(
    records_by_config: dict[str, Sequence[dict[str, Any]]],
    embed: Embedder | None,
    embedding_sample: int | None = None,
    seed: int = 0,
    known: dict[str, np.ndarray] | None = None,
) -> AuditReport:
    """`audit_baselines` for every config, with the digests of the questions audited."""
    by_config, by_source = {}, {}
    for config, records in records_by_config.items():
        by_config[config], sources = audit_baselines(records, embed, embedding_sample, seed, known)
        by_source.update(sources)
    digests = {config: questions_digest(records) for config, records in records_by_config.items()}
    return AuditReport(by_config, by_source, digests, embedding_sample if embed is not None else 0)


@dataclass(frozen=True)
class LetterBalance:
    counts: dict[str, int]
    chi_square: float
    p_value: float


def letter_balance(records: Sequence[dict[str, Any]]) -> LetterBalance:
    counts = Counter(record["answer"] for record in records)
    observed = [counts.get(letter, 0) for letter in LETTERS]
    if not records:
        return LetterBalance(dict.fromkeys(LETTERS, 0), 0.0, 1.0)
    statistic, p_value = chisquare(observed)
    return LetterBalance(dict(zip(LETTERS, observed, strict=True)), float(statistic), float(p_value))


def wilson_interval(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a rate measured on n questions."""
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def audit_table(results: dict[str, BaselineResult], title: str = "config") -> str:
    """A markdown table, one row per config (or source), baselines as percentages.

    A baseline scored on a sample shows its n and 95% interval next to the rate.
    """
    header = f"| {title} | questions | " + " | ".join(BASELINES) + " |"
    lines = [header, "| --- | ---: | " + " | ".join("---:" for _ in BASELINES) + " |"]
    for name, result in results.items():
        cells = []
        for baseline in BASELINES:
            if baseline not in result.accuracy:
                cells.append("not run")
                continue
            rate, n = result.accuracy[baseline], result.n[baseline]
            cell = f"{100 * rate:.1f}%"
            if n != result.n["longest"]:
                low, high = wilson_interval(rate, n)
                cell += f" (n={n}: {100 * low:.0f}-{100 * high:.0f}%)"
            cells.append(cell)
        lines.append(f"| {name} | {result.n['longest']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
