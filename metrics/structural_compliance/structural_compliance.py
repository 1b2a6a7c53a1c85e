"""CrossTrace structural compliance as a Hugging Face `evaluate` metric (a thin wrapper over
`crosstrace.schema.check_compliance`).

    import evaluate
    metric = evaluate.load("metrics/structural_compliance")                 # offline, from this folder
    metric.compute(predictions=[model_output, ...])                          # profile "crosstrace"
    evaluate.load("metrics/structural_compliance", "hypogen").compute(predictions=[...])

Requires the `crosstrace` package (this repository) to be importable.
"""

from __future__ import annotations

from collections import Counter

import datasets

import evaluate
from crosstrace.schema import COMPLIANCE_VERSION, PROFILES, check_compliance

_DESCRIPTION = f"""
The share of model outputs that follow the CrossTrace answer layout exactly ({COMPLIANCE_VERSION}):
sections `Core insight:`, `Reasoning:` (numbered steps 1..n, 3 to 6 of them), `Hypothesis:`,
`Approach:` in this order, each once and non-empty, nothing before the first or after the last
(profile "crosstrace"); profile "hypogen" expects Core insight, an unnumbered Reasoning
paragraph and Hypothesis, with no Approach.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: model outputs (assistant texts), one string each.
    profile: "crosstrace" or "hypogen" (default: the config name, else "crosstrace").
Returns:
    structural_compliance: fraction of compliant outputs; n: how many outputs;
    violations: {violation kind: count}, e.g. {"missing_section": 3}.
Examples:
    >>> metric = evaluate.load("metrics/structural_compliance")
    >>> metric.compute(predictions=["Core insight: ..."])["structural_compliance"]
"""

_CITATION = """\
@misc{crosstrace_structural_compliance,
  title = {CrossTrace: structural compliance of hypothesis-generation outputs}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class StructuralCompliance(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string")}),
        )

    def _compute(self, predictions, profile=None):
        profile = profile or (self.config_name if self.config_name in PROFILES else "crosstrace")
        results = [check_compliance(text, profile) for text in predictions]
        violations = Counter(v.split(":")[0] for result in results for v in result.violations)
        compliant = sum(result.compliant for result in results)
        return {
            "structural_compliance": compliant / len(results) if results else None,
            "n": len(results),
            "violations": dict(violations.most_common()),
            "profile": profile,
            "version": COMPLIANCE_VERSION,
        }
