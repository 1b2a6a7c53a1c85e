"""Rewards for CrossTrace hypothesis traces (columns `hypothesis`, the reference, and `approach`).

The profile follows the reference: `crosstrace` (core insight, reasoning, hypothesis, approach)
when the row has an `approach`, else `hypogen` (no approach). Both rewards return None on rows
without a reference `hypothesis` (other datasets).

- `crosstrace_structure`: partial credit under `crosstrace.schema.check_compliance`:
  content x (1 + order + steps + nothing_before + nothing_after) / 5, where `content` is the
  fraction of the profile's sections present with text (a header alone, or reasoning steps that
  are bare numbers, count as absent) and
  each rule is 1 when compliance reports none of its violations: order (no out-of-order,
  duplicate or unexpected section), steps (3-6 numbered, non-empty reasoning steps; hypogen
  profile: always 1), nothing_before (at least one section, and no text before the first),
  nothing_after (no text after the last). Multiplying by `content` is what makes headers
  without content earn 0, whatever the other rules say.
- `crosstrace_similarity`: cosine similarity (clipped at 0) between the completion's Hypothesis
  section and the reference hypothesis, with the packaged all-MiniLM-L6-v2 embeddings
  (`crosstrace.embeddings`). A PROXY: a paraphrase of the reference scores high and a better,
  different hypothesis scores low; weight it low. No Hypothesis section with text: 0.
"""

from __future__ import annotations

from typing import Any

from crosstrace.rewards.base import column, text_of
from crosstrace.schema import PROFILE_SECTIONS, check_compliance, parse_assistant

RULES = {
    "order": ("sections_out_of_order", "duplicate_section:", "unexpected_section:"),
    "steps": ("steps_not_numbered", "too_few_steps:", "too_many_steps:", "empty_field:step_"),
    "nothing_before": ("text_before_first_section",),
    "nothing_after": ("text_after_last_section",),
}


def profile_of(approach: Any) -> str:
    return "crosstrace" if isinstance(approach, str) and approach.strip() else "hypogen"


def structure_score(text: str, profile: str) -> float:
    sections = PROFILE_SECTIONS[profile]
    parsed = parse_assistant(text)
    contents = {
        "core_insight": parsed.spark,
        "reasoning": " ".join(parsed.steps),  # numbered steps without text ("1.", "2.") are no content
        "hypothesis": parsed.hypothesis,
        "approach": parsed.approach,
    }
    content = sum(bool(contents[key] and contents[key].strip()) for key in sections) / len(sections)
    if not content:
        return 0.0
    violations = check_compliance(text, profile).violations
    met = sum(not any(v.startswith(prefix) for v in violations for prefix in prefixes) for prefixes in RULES.values())
    return content * (1 + met) / (1 + len(RULES))


def structure_rewards(completions, columns: dict[str, Any]) -> list[float | None]:
    references = column(columns, "hypothesis", len(completions))
    approaches = column(columns, "approach", len(completions))
    return [
        None if not isinstance(reference, str) else structure_score(text_of(completion), profile_of(approach))
        for completion, reference, approach in zip(completions, references, approaches, strict=True)
    ]


def crosstrace_structure(prompts, completions, **columns) -> list[float | None]:
    """Partial credit per compliance rule, scaled by the share of sections with content; None without `hypothesis`."""
    return structure_rewards(completions, columns)


def crosstrace_similarity(prompts, completions, **columns) -> list[float | None]:
    """Cosine similarity (MiniLM, clipped at 0) of the Hypothesis section to the reference: a proxy."""
    from crosstrace.embeddings import cosine

    references = column(columns, "hypothesis", len(completions))
    rewards: list[float | None] = [None if not isinstance(r, str) else 0.0 for r in references]
    pairs = []
    for index, (completion, reference) in enumerate(zip(completions, references, strict=True)):
        hypothesis = parse_assistant(text_of(completion)).hypothesis if isinstance(reference, str) else None
        if hypothesis and hypothesis.strip():
            pairs.append((index, hypothesis, reference))
    if pairs:
        similarities = cosine([p[1] for p in pairs], [p[2] for p in pairs])
        for (index, _, _), similarity in zip(pairs, similarities, strict=True):
            rewards[index] = min(1.0, max(0.0, float(similarity)))
    return rewards
