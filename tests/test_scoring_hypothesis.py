"""Hypothesis-generation metrics on a few hand-written records, with a judge on a fake transport."""

from __future__ import annotations

import json

import pytest

from crosstrace.scoring.hypothesis import score_hypotheses
from crosstrace.scoring.judge import Judge, JudgeConfig

REFERENCE = (
    "Core insight: Soil fungi move nitrogen between neighbouring trees\n\n"
    "Reasoning:\n1. Trees in mixed stands share mycorrhizal networks.\n2. Isotope tracers can follow nitrogen through hyphae.\n"
    "3. Shaded seedlings are nitrogen-limited.\n\n"
    "Hypothesis: Mycorrhizal networks transfer nitrogen from canopy trees to shaded seedlings.\n\n"
    "Approach: Label canopy trees with 15N and measure it in connected and trenched seedlings."
)
HYPOGEN_REFERENCE = (
    "Core insight: Sparse attention keeps long-range recall\n\n"
    "Reasoning:\nI noticed that most attention weight falls on few tokens, so pruning the rest should keep recall.\n\n"
    "Hypothesis: Top-k sparse attention matches dense attention on long-context retrieval."
)


class CannedTransport:
    """Answers judge requests by what the generated idea says (no network), counting calls."""

    def __init__(self, replies):
        self.replies = replies  # {text in the request: reply}; "" is the default
        self.calls = 0

    def __call__(self, url, body, headers, timeout):
        self.calls += 1
        content = json.loads(body)["messages"][1]["content"]
        reply = next((r for key, r in self.replies.items() if key and key in content), self.replies[""])
        return 200, {}, json.dumps({"choices": [{"message": {"content": reply}}]}).encode()


@pytest.mark.slow
def test_score_hypotheses_end_to_end(tmp_path):
    outputs = [
        REFERENCE,  # identical: compliant, similarity 1
        "Sure! Here is my idea: fungi help trees share nitrogen.",  # unstructured
        REFERENCE.replace(
            "\n\nApproach: Label canopy trees with 15N and measure it in connected and trenched seedlings.", ""
        ),  # no Approach
        HYPOGEN_REFERENCE,
    ]
    references = [REFERENCE, REFERENCE, REFERENCE, HYPOGEN_REFERENCE]
    profiles = ["crosstrace", "crosstrace", "crosstrace", "hypogen"]
    transport = CannedTransport({"": "Score: 1.0", "fungi help trees": "Score: 0.5", "Top-k sparse": "I cannot tell."})
    judge = Judge(
        JudgeConfig(base_url="http://judge.invalid/v1", model="m", concurrency=1, cache_dir=str(tmp_path)),
        transport=transport,
    )
    score = score_hypotheses(
        references,
        outputs,
        profiles,
        judge=judge,
        ids=["a", "b", "c", "d"],
        groups={"domain": ["bio", "bio", "bio", "ai"]},
        bootstrap=100,
    )

    m = score.metrics
    assert m["structural_compliance"] == pytest.approx(2 / 4)
    assert m["spark_cosine"] == pytest.approx((1 + 0 + 1 + 1) / 4, abs=1e-5)  # the unstructured output scores 0
    assert m["spark_cosine_present"] == pytest.approx(1.0, abs=1e-5)  # upstream's convention: present sections only
    assert score.n["spark_cosine_present"] == 3
    assert m["rouge_l"] == pytest.approx(3 / 4)
    # Output c states the same idea as a (only its Approach is missing): same judge question,
    # answered from the cache. The unreadable reply (d) is left out of the mean.
    assert m["iascore"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert score.n["iascore"] == 3 and transport.calls == 3
    assert any(p["field"] == "iascore" and "no readable" in p["reason"] for p in score.problems)
    assert score.breakdowns["profile"]["hypogen"]["metrics"]["structural_compliance"] == 1.0
    assert score.breakdowns["domain"]["bio"]["n"]["structural_compliance"] == 3
    row = score.samples[1]
    assert row["id"] == "b" and row["compliant"] is False and "missing_section:core_insight" in row["violations"]
    assert row["spark_cosine"] == 0.0 and row["iascore"] == 0.5
    assert score.extra["violation_counts"]["missing_section"] >= 4
    assert score.scoring["compliance_version"]

    # A rerun is served from the judge cache: no new request.
    calls = transport.calls
    rerun = Judge(
        JudgeConfig(base_url="http://judge.invalid/v1", model="m", cache_dir=str(tmp_path)), transport=transport
    )
    assert score_hypotheses(references, outputs, profiles, judge=rerun, bootstrap=0).metrics[
        "iascore"
    ] == pytest.approx(m["iascore"])
    assert transport.calls == calls


def test_lengths_must_match():
    with pytest.raises(ValueError, match="equal numbers"):
        score_hypotheses([REFERENCE], [], ["crosstrace"])
