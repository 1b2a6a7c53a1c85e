"""Hypothesis-generation metrics for CrossTrace and HypoGen test records.

    from crosstrace.scoring.hypothesis import score_hypotheses
    score = score_hypotheses(reference_texts, generations, profiles=["crosstrace"] * n)
    score.metrics["structural_compliance"], score.metrics["spark_cosine"], score.metrics["rouge_l"]

Per sample (a reference assistant text in the release layout and a model's output):
- `structural_compliance`: `crosstrace.schema.check_compliance(output, profile)` (profile
  "crosstrace" or "hypogen"; the README's "Structural compliance" defines it);
- `spark_cosine`, `hypothesis_cosine`: cosine similarity of all-MiniLM-L6-v2 embeddings
  (`crosstrace.embeddings`, the model upstream used) between the output's "Core insight" /
  "Hypothesis" section and the reference's. An output without the section scores 0, so an
  unstructured model is not averaged over the few outputs it happened to structure;
  `spark_cosine_present` / `hypothesis_cosine_present` average only over outputs that have the
  section, which is how upstream's script computed its figures (comparable with them);
- `rouge_l`: ROUGE-L F1 of the hypothesis sections (rouge-score, Porter stemmer as upstream);
- `iascore` (with a `judge.Judge`): the judge's 0-1 alignment of the output's idea (core
  insight and hypothesis; the whole output when it has no hypothesis section) with the
  reference's; unreadable or failed judgements are left out of the mean and counted.
Intervals: percentile bootstrap over samples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from crosstrace.schema import COMPLIANCE_VERSION, check_compliance, parse_assistant
from crosstrace.scoring.judge_stats import judge_agreement, judge_spread
from crosstrace.scoring.stats import DEFAULT_RESAMPLES, mean_and_interval
from crosstrace.scoring.types import TaskScore

SIMILARITY_METRICS = ("spark_cosine", "hypothesis_cosine", "rouge_l")


def idea_text(spark: str | None, hypothesis: str | None) -> str:
    """What the judge compares: the core insight and the hypothesis."""
    parts = [f"Core insight: {spark}" if spark else "", f"Hypothesis: {hypothesis}" if hypothesis else ""]
    return "\n".join(p for p in parts if p)


def _cosines(pairs: list[tuple[int, str, str]], size: int) -> np.ndarray:
    from crosstrace.embeddings import cosine

    values = np.full(size, np.nan)
    if pairs:
        indices, left, right = zip(*pairs, strict=True)
        # float32 embeddings can give 1.0000001 for identical texts: clip to the cosine range.
        values[list(indices)] = np.clip(cosine(list(left), list(right)), -1.0, 1.0)
    return values


def _rouge_l(pairs: list[tuple[int, str, str]], size: int) -> np.ndarray:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    values = np.full(size, np.nan)
    for index, reference, generation in pairs:
        values[index] = scorer.score(reference, generation)["rougeL"].fmeasure
    return values


def score_hypotheses(
    references: Sequence[str],
    generations: Sequence[str],
    profiles: Sequence[str],
    *,
    judge: Any = None,
    second_judge: Any = None,
    contexts: Sequence[str | None] | None = None,
    ids: Sequence[Any] | None = None,
    groups: dict[str, Sequence[str]] | None = None,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> TaskScore:
    """Score model outputs against reference assistant texts; `groups` adds breakdowns
    (e.g. {"domain": [...]}), `contexts` gives the judge each record's research context; a
    `second_judge` scores the same pairs and only its agreement with `judge` is reported."""
    size = len(references)
    if not (len(generations) == len(profiles) == size):
        raise ValueError(
            f"need equal numbers of references ({size}), generations ({len(generations)}) and profiles ({len(profiles)})"
        )
    ids = list(ids) if ids is not None else list(range(size))
    problems: list[dict[str, Any]] = []
    compliant = np.zeros(size)
    violation_counts: Counter[str] = Counter()
    violations_per_sample: list[list[str]] = []
    spark_pairs, hypothesis_pairs = [], []
    spark_present, hypothesis_present = np.zeros(size), np.zeros(size)
    reference_has = {"spark": np.zeros(size, dtype=bool), "hypothesis": np.zeros(size, dtype=bool)}
    reference_ideas, generated_ideas = [], []

    for index, (reference, generation, profile) in enumerate(zip(references, generations, profiles, strict=True)):
        generation = generation if isinstance(generation, str) else ""
        result = check_compliance(generation, profile)
        compliant[index] = float(result.compliant)
        violations_per_sample.append(result.violations)
        violation_counts.update(v.split(":")[0] for v in result.violations)
        ref = parse_assistant(reference)
        out = parse_assistant(generation)
        for name, ref_text, out_text, pairs, present in (
            ("spark", ref.spark, out.spark, spark_pairs, spark_present),
            ("hypothesis", ref.hypothesis, out.hypothesis, hypothesis_pairs, hypothesis_present),
        ):
            reference_has[name][index] = bool(ref_text)
            if not ref_text:
                problems.append(
                    {
                        "index": index,
                        "id": ids[index],
                        "field": name,
                        "reason": f"the reference has no {name} section; left out of {name} similarity",
                    }
                )
                continue
            present[index] = float(bool(out_text))
            if out_text:
                pairs.append((index, ref_text, out_text))
        reference_ideas.append(idea_text(ref.spark, ref.hypothesis))
        generated_ideas.append(idea_text(out.spark, out.hypothesis) if out.hypothesis else generation)

    per_sample: dict[str, np.ndarray] = {"structural_compliance": compliant}
    spark = _cosines(spark_pairs, size)
    hypothesis = _cosines(hypothesis_pairs, size)
    rouge = _rouge_l(hypothesis_pairs, size)
    # Missing in the output -> 0; missing in the reference -> undefined (NaN).
    per_sample["spark_cosine"] = np.where(reference_has["spark"], np.nan_to_num(spark, nan=0.0), np.nan)
    per_sample["hypothesis_cosine"] = np.where(reference_has["hypothesis"], np.nan_to_num(hypothesis, nan=0.0), np.nan)
    per_sample["rouge_l"] = np.where(reference_has["hypothesis"], np.nan_to_num(rouge, nan=0.0), np.nan)
    per_sample["spark_cosine_present"] = spark
    per_sample["hypothesis_cosine_present"] = hypothesis
    per_sample["spark_present"] = np.where(reference_has["spark"], spark_present, np.nan)
    per_sample["hypothesis_present"] = np.where(reference_has["hypothesis"], hypothesis_present, np.nan)

    judge_results = second_results = None
    if judge is not None:
        judge_results = judge.score_pairs(reference_ideas, generated_ideas, contexts=contexts, progress=size > 20)
        per_sample["iascore"] = np.array([np.nan if r.score is None else r.score for r in judge_results])
        problems += _judge_problems(judge_results, ids)
        if second_judge is not None:
            second_results = second_judge.score_pairs(
                reference_ideas, generated_ideas, contexts=contexts, progress=size > 20
            )

    metrics, n, ci95 = {}, {}, {}
    for name, values in per_sample.items():
        mean, bounds = mean_and_interval(values, bootstrap, seed)
        metrics[name] = mean
        n[name] = int(np.isfinite(values).sum())
        if bounds is not None:
            ci95[name] = bounds

    breakdowns: dict[str, dict[str, dict[str, Any]]] = {}
    for dimension, labels in {"profile": list(profiles), **(groups or {})}.items():
        labels_array = np.asarray([str(label) for label in labels], dtype=object)
        breakdowns[dimension] = {}
        for value in sorted(set(labels_array.tolist())):
            mask = labels_array == value
            entry: dict[str, Any] = {"metrics": {}, "n": {}, "ci95": {}}
            for name in ("structural_compliance", *SIMILARITY_METRICS, *(("iascore",) if judge is not None else ())):
                mean, bounds = mean_and_interval(per_sample[name][mask], bootstrap, seed)
                entry["metrics"][name] = mean
                entry["n"][name] = int(np.isfinite(per_sample[name][mask]).sum())
                if bounds is not None:
                    entry["ci95"][name] = bounds
            breakdowns[dimension][value] = entry

    samples = []
    for index in range(size):
        row: dict[str, Any] = {
            "id": ids[index],
            "profile": profiles[index],
            "output": generations[index],
            "compliant": bool(compliant[index]),
            "violations": violations_per_sample[index],
        }
        for name in SIMILARITY_METRICS:
            value = per_sample[name][index]
            row[name] = None if not np.isfinite(value) else float(value)
        if judge_results is not None:
            result = judge_results[index]
            row.update(
                {
                    "iascore": result.score,
                    "judge_key": result.key,
                    "judge_cached": result.cached,
                    "judge_error": result.error,
                    **({"iascore_repeats": result.repeat_scores} if len(result.repeat_scores) > 1 else {}),
                    **({"iascore_second_judge": second_results[index].score} if second_results else {}),
                }
            )
        samples.append(row)

    extra: dict[str, Any] = {"violation_counts": dict(violation_counts.most_common())}
    if judge is not None:
        extra["judge"] = judge.config.describe()
        extra["judge_outcomes"] = _judge_outcomes(judge_results, judge.gave_up)
        extra["judge_spread"] = judge_spread(judge_results)
    if second_results is not None:
        extra["second_judge"] = second_judge.config.describe()
        extra["judge_agreement"] = judge_agreement(judge_results, second_results)
    return TaskScore(
        task="crosstrace",
        scoring={
            "mode": "hypothesis",
            "compliance_version": COMPLIANCE_VERSION,
            "embedding_model": "all-MiniLM-L6-v2",
            "rouge": "rouge-score rougeL F1, Porter stemmer",
        },
        metrics=metrics,
        n=n,
        ci95=ci95,
        breakdowns=breakdowns,
        samples=samples,
        problems=problems,
        extra=extra,
    )


def _judge_problems(results: list[Any], ids: list[Any]) -> list[dict[str, Any]]:
    """A failed request or an unreadable reply, per pair: counted, left out of the mean."""
    problems = []
    for index, result in enumerate(results):
        if result.error:
            reason = f"judge request failed: {result.error}"
        elif result.score is None:
            reason = "judge reply has no readable 0-1 score"
        else:
            continue
        problems.append(
            {"index": index, "id": ids[index], "field": "iascore", "reason": reason, "judge_key": result.key}
        )
    return problems


def _judge_outcomes(results: list[Any], gave_up: str | None) -> dict[str, Any]:
    """What became of the judge requests: the reason IAScore is missing, when it is."""
    failed = [r for r in results if r.error]
    return {
        "pairs": len(results),
        "scored": sum(r.score is not None for r in results),
        "no_idea_scored_0": sum(r.note is not None for r in results),
        "failed": len(failed),
        "unreadable": sum(r.score is None and not r.error for r in results),
        "first_error": failed[0].error if failed else None,
        "stopped_sending": gave_up,
    }
