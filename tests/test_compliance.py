"""Structural compliance: each rule with a failing and a passing example, both profiles."""

from __future__ import annotations

import pytest

from crosstrace.schema import COMPLIANCE_VERSION, check_compliance

SPARK = "Core insight: Soil fungi as slow batteries"
STEPS = [
    "1. Mycorrhizal networks move sugars between trees on a scale of metres.",
    "2. Sugar flux peaks in autumn, when leaves stop photosynthesising.",
    "3. A store that releases carbon late in the season would buffer young trees.",
    "4. Seedlings connected to old trees survive frost more often.",
]
HYPOTHESIS = "Hypothesis: Fungal networks store autumn sugars and return them to shaded seedlings in early spring."
APPROACH = "Approach: Label mature trees with 13C in autumn and trace the label into seedlings the next spring."


def crosstrace_text(*, spark=SPARK, steps=tuple(STEPS), hypothesis=HYPOTHESIS, approach=APPROACH) -> str:
    reasoning = "Reasoning:\n" + "\n".join(steps)
    return "\n\n".join(part for part in (spark, reasoning, hypothesis, approach) if part is not None)


HYPOGEN_TEXT = "\n\n".join(
    [
        SPARK,
        "Reasoning:\nI asked whether the sugar flux could be a store rather than a leak, and I checked the timing against frost records.",
        HYPOTHESIS,
    ]
)


def violations(text: str, profile: str = "crosstrace") -> list[str]:
    return check_compliance(text, profile).violations


def test_the_canonical_layout_is_compliant():
    result = check_compliance(crosstrace_text())
    assert result.compliant and result.violations == []
    assert result.version == COMPLIANCE_VERSION and result.profile == "crosstrace"


@pytest.mark.parametrize(
    "rule, failing, passing",
    [
        ("missing_section:approach", crosstrace_text(approach=None), crosstrace_text()),
        ("missing_section:core_insight", crosstrace_text(spark=None), crosstrace_text()),
        (
            "sections_out_of_order",
            "\n\n".join([HYPOTHESIS, SPARK, "Reasoning:\n" + "\n".join(STEPS), APPROACH]),
            crosstrace_text(),
        ),
        ("duplicate_section:hypothesis", crosstrace_text() + "\n\n" + HYPOTHESIS, crosstrace_text()),
        ("too_few_steps:2", crosstrace_text(steps=STEPS[:2]), crosstrace_text(steps=STEPS[:3])),
        (
            "too_many_steps:7",
            crosstrace_text(steps=[f"{n}. Step {n} of the argument." for n in range(1, 8)]),
            crosstrace_text(steps=[f"{n}. Step {n} of the argument." for n in range(1, 7)]),
        ),
        ("steps_not_numbered", crosstrace_text(steps=[s[3:] for s in STEPS]), crosstrace_text()),
        (
            "steps_not_numbered",
            crosstrace_text(steps=["1. a b", "2. c d", "4. e f"]),
            crosstrace_text(steps=["1. a b", "2. c d", "3. e f"]),
        ),
        ("empty_field:hypothesis", crosstrace_text(hypothesis="Hypothesis:   "), crosstrace_text()),
        (
            "empty_field:step_2",
            crosstrace_text(steps=["1. a", "2.", "3. c"]),
            crosstrace_text(steps=["1. a", "2. b", "3. c"]),
        ),
        ("empty_field:reasoning", crosstrace_text(steps=[]), crosstrace_text()),
        (
            "text_before_first_section",
            "Sure! Here is my answer.\n\n" + crosstrace_text(),
            "\n  \n" + crosstrace_text(),
        ),
        (
            "text_after_last_section",
            crosstrace_text() + "\n\nLet me know if you need more.",
            crosstrace_text() + "\n\n",
        ),
    ],
)
def test_each_rule_fails_and_passes(rule, failing, passing):
    assert rule in violations(failing)
    assert violations(passing) == []


def test_tolerates_markdown_bold_headings_case_and_whitespace():
    text = (
        "\n  **Core Insight:** Soil fungi as slow batteries  \n\n"
        "## Reasoning\n**1.** Networks move sugars.\n2) Flux peaks in autumn,\n   when leaves stop working.\n3. Stores buffer seedlings.\n\n"
        "**Hypothesis**: Fungal stores feed seedlings in spring.\n\n"
        "__approach:__ Trace a 13C label.\n"
    )
    assert violations(text) == []


def test_a_step_may_wrap_onto_following_lines_but_not_after_a_blank_line():
    wrapped = crosstrace_text(steps=["1. First half", "   and its second half.", "2. b", "3. c"])
    assert violations(wrapped) == []
    stray = crosstrace_text(steps=["1. a", "2. b", "3. c", "", "So in summary, fungi matter."])
    assert violations(stray) == ["steps_not_numbered"]


def test_empty_text_misses_every_section():
    assert violations("") == [f"missing_section:{s}" for s in ("core_insight", "reasoning", "hypothesis", "approach")]


def test_hypogen_profile_wants_no_approach_and_does_not_count_steps():
    assert violations(HYPOGEN_TEXT, "hypogen") == []
    assert "unexpected_section:approach" in violations(HYPOGEN_TEXT + "\n\n" + APPROACH, "hypogen")
    assert "missing_section:hypothesis" in violations(HYPOGEN_TEXT.rsplit("\n\n", 1)[0], "hypogen")
    # The same text fails the CrossTrace profile: no Approach and no numbered steps.
    assert set(violations(HYPOGEN_TEXT)) == {"missing_section:approach", "steps_not_numbered", "too_few_steps:0"}


def test_unknown_profile_is_an_error():
    with pytest.raises(ValueError, match="unknown compliance profile"):
        check_compliance(crosstrace_text(), "wildsci")
