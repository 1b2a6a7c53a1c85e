"""DACR-Bench answer scoring as a Hugging Face `evaluate` metric (a thin wrapper over
`crosstrace.scoring.dacr.score_dacr`).

    import evaluate, json
    metric = evaluate.load("metrics/dacr_score")                    # offline, from this folder
    metric = evaluate.load("metrics/dacr_score", "reference")       # upstream evaluate.ts rules
    metric.compute(predictions=[raw_model_output, ...], references=[json.dumps(challenge), ...])

Requires the `crosstrace` package (this repository) to be importable.
"""

from __future__ import annotations

import datasets

import evaluate
from crosstrace.jsonio import loads
from crosstrace.scoring.dacr import HEADLINE_METRICS, SCORING_MODES, score_dacr
from crosstrace.scoring.dacr_parse import extract_answers
from crosstrace.scoring.dacr_strict import STRICT_VERSION

_DESCRIPTION = f"""
Scores answers to DACR-Bench challenges (a document, ten questions, planted conflicting values).
Two modes: `strict` (default; the CrossTrace definition {STRICT_VERSION}: numbers by value within
the gold's precision, unit- and percent-aware, several asserted candidate values are wrong, text
by exact/alias match or token F1 >= 0.8 with a padding guard) and `reference` (the upstream
evaluate.ts rules exactly, quirks included, for numbers comparable with published ones; lenient:
answering "e" everywhere scores about 70% on the mini set).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: one string per challenge: the model's raw output (a JSON object of answers,
        possibly in code fences or prose) or a JSON string `{"q01": {"answer", "citation", "confidence"}}`.
    references: one string per challenge: the challenge in the DACR-Bench schema, as JSON.
    scoring: "strict" or "reference" (default: the config name, else "strict").
    bootstrap: bootstrap resamples for 95% intervals (default 0: no intervals).
    seed: seed of the bootstrap.
Returns:
    accuracy, pass_rate, cars, trap_evasion, confidence_weighted_accuracy, ece, brier, citation,
    transfer_gap, mean_confidence, coverage (fractions; None when undefined), `questions`,
    `unparsed_outputs`, and with bootstrap > 0 `ci95` ({metric: [low, high]}).
Examples:
    >>> metric = evaluate.load("metrics/dacr_score")
    >>> metric.compute(predictions=['{"q01": {"answer": "12", "confidence": 0.9}}'], references=[challenge_json])["accuracy"]
"""

_CITATION = """\
@misc{crosstrace_dacr_score,
  title  = {CrossTrace: DACR scoring (strict and reference modes)},
  note   = {Reference mode reproduces DACR-Bench's evaluate.ts (botcoinmoney/dacr-bench, Apache-2.0)}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class DacrScore(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            reference_urls=["https://github.com/botcoinmoney/dacr-bench"],
        )

    def _compute(self, predictions, references, scoring=None, bootstrap=0, seed=0):
        mode = scoring or (self.config_name if self.config_name in SCORING_MODES else "strict")
        challenges = [loads(reference) for reference in references]
        answers, unparsed = {}, 0
        for challenge, output in zip(challenges, predictions, strict=True):
            question_ids = [q.get("questionId") for q in challenge.get("questions", [])]
            parsed, _problem = extract_answers(output, question_ids=question_ids)
            unparsed += not parsed
            answers[challenge["challengeId"]] = parsed
        score = score_dacr(challenges, answers, mode=mode, bootstrap=bootstrap, seed=seed, answers_from="outputs")
        result = {name: score.metrics[name] for name in HEADLINE_METRICS}
        result.update({"questions": score.n["questions"], "unparsed_outputs": unparsed, "scoring": mode})
        if bootstrap:
            result["ci95"] = score.ci95
        return result
