"""Scoring given continuations by their log-probability after a chat prompt (`--mcq_scoring loglik`).

Shared by the backends that can (hf, vllm): each continuation is tokenized after the
chat-formatted prompt (`encode_continuations`), the sequences to run are planned
(`plan_sequences`: continuations that differ only in their last token, "Answer: A" ..
"Answer: J", share one sequence, so the prompt runs once per question), and the backend's own
scorer sums the continuation tokens' log-probs (`score_requests`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from crosstrace.evaluation.backends.base import BackendError, LoglikRequest, chat_text
from crosstrace.evaluation.prompts import Messages


@dataclass(frozen=True)
class ScoringSequence:
    """Token ids to run through the model, and the continuation tokens to score.

    The last `scored` of `ids` are continuation tokens: their log-probs are summed. `last_tokens`,
    when given, are alternatives for one more continuation token, each read from the distribution
    after `ids`: the scorer then returns one sum per alternative (the sum inside `ids` plus the
    alternative's log-prob); without them, one sum. Under causal attention no token's log-prob
    depends on what follows it, so continuations that differ only in their last token share one
    sequence exactly (`plan_sequences`).
    """

    ids: list[int]
    scored: int
    last_tokens: list[int] = field(default_factory=list)


# Sequences -> per sequence, its sums in order: one per entry of `last_tokens`, or one when it has none.
SequenceScorer = Callable[[list[ScoringSequence]], list[list[float]]]


def encode_continuations(tokenizer, messages: Messages, continuations: list[str]) -> tuple[list[int], list[list[int]]]:
    """The token ids of the chat-formatted prompt (the assistant turn opened, exactly what `generate`
    feeds the model) and, for each continuation, the ids that follow them.

    A continuation is tokenized together with the prompt, as the text would be, and its ids are
    those after the prompt's own. If the two merge across the boundary (the prompt's ids are not a
    prefix of the joint ids), the continuation is tokenized alone instead, so the model is still
    scored on exactly the prompt `generate` gives it; a warning says so. Qwen2.5's and SmolLM2's
    templates end the prompt with a newline, which no BPE merge crosses.
    """
    prompt_text = chat_text(tokenizer, messages)
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False).input_ids
    encoded = []
    for continuation in continuations:
        joint = tokenizer(prompt_text + continuation, add_special_tokens=False).input_ids
        if joint[: len(prompt_ids)] == prompt_ids:
            ids = joint[len(prompt_ids) :]
        else:
            warnings.warn(
                "a continuation merges with the end of the chat-formatted prompt when tokenized together; it is scored tokenized alone, after the prompt's own tokens",
                stacklevel=2,
            )
            ids = tokenizer(continuation, add_special_tokens=False).input_ids
        if not ids:
            raise BackendError(f"continuation {continuation!r} has no tokens after the prompt: nothing to score")
        encoded.append(ids)
    return prompt_ids, encoded


def plan_sequences(
    prompt_ids: list[int], options: list[list[int]], share_prompt: bool = True
) -> list[ScoringSequence]:
    """The sequences that score every continuation (token ids `options`) after `prompt_ids`, in order.

    When all continuations have the same tokens but the last (the MCQ options "Answer: A" ..
    "Answer: J"), one sequence holds the prompt and the shared tokens, and each option is one
    candidate last token: the prompt is computed once, as lm-evaluation-harness does for
    one-token continuations of one context. Otherwise (or with `share_prompt=False`, the
    reference the shared path is checked against) each continuation gets a sequence of its own,
    the prompt followed by the whole continuation.
    """
    if not options:
        return []
    shared = options[0][:-1]
    if share_prompt and all(ids[:-1] == shared for ids in options):  # equal lengths, equal tokens but the last
        return [ScoringSequence(ids=prompt_ids + shared, scored=len(shared), last_tokens=[ids[-1] for ids in options])]
    return [ScoringSequence(ids=prompt_ids + ids, scored=len(ids)) for ids in options]


def score_requests(
    tokenizer, requests: list[LoglikRequest], score_sequences: SequenceScorer, share_prompt: bool = True
) -> list[list[float]]:
    """Every continuation of `requests` scored in one call to `score_sequences`, regrouped per request."""
    plans = []
    for messages, continuations in requests:
        prompt_ids, options = encode_continuations(tokenizer, messages, continuations)
        plans.append(plan_sequences(prompt_ids, options, share_prompt))
    sums = iter(score_sequences([sequence for plan in plans for sequence in plan]))
    # A request's sequences hold its continuations in order, so their sums concatenate to one per continuation.
    return [[value for _ in plan for value in next(sums)] for plan in plans]
