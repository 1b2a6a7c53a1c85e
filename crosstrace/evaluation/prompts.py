"""A prompt to generate from, and the policy for prompts longer than the model's context.

DACR-Bench's real documents run to ~32k tokens, more than many models take. A prompt that does
not fit (with `max_new_tokens` kept free for the answer) is never cut silently: under `skip`
(the default) it is left out and counted; under `truncate` its document is shortened until the
prompt fits, a marker says so inside the prompt, and the results count it. Prompts without a
document (CrossTrace, MCQ) have nothing to shorten and are skipped under either policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from crosstrace.jsonio import dumps

Messages = list[dict[str, str]]
LongDocumentPolicy = Literal["skip", "truncate"]

# Appended where a document was cut, so the model (and anyone reading outputs) knows text is missing.
TRUNCATION_MARK = "\n\n[... the rest of the document was cut to fit the model's context ...]"


@dataclass(frozen=True)
class Prompt:
    """One request to the model. `id` is unique within its task and keys the resumable output file.

    Without `continuations` the model generates a reply to `messages`. With them (label -> text,
    e.g. "C" -> "Answer: C") nothing is generated: each text is scored by its log-probability as
    the start of the reply (see `backends.loglik.encode_continuations`)."""

    id: str
    messages: Messages
    # For prompts built around a long document: the document, and how to rebuild the messages
    # around a shorter one (used only by the `truncate` policy).
    document: str | None = None
    with_document: Callable[[str], Messages] | None = field(default=None, compare=False, repr=False)
    prompt_tokens: int | None = None
    continuations: dict[str, str] | None = None


@dataclass
class ContextReport:
    """What the context policy did, recorded under `tasks.<task>.skipped` in results.json."""

    policy: str
    max_context_tokens: int | None
    reserved_for_output: int
    token_count: str  # how prompt lengths were counted: "exact" or how the bound is made
    skipped: list[dict[str, Any]] = field(default_factory=list)
    truncated: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "max_context_tokens": self.max_context_tokens,
            "checked": self.max_context_tokens is not None,
            "reserved_for_output": self.reserved_for_output,
            "token_count": self.token_count,
            "skipped_count": len(self.skipped),
            "truncated_count": len(self.truncated),
            "skipped": self.skipped,
            "truncated": self.truncated,
        }


def fit_to_context(
    prompts: list[Prompt],
    count_tokens: Callable[[Messages], int],
    max_context_tokens: int | None,
    max_new_tokens: int,
    policy: LongDocumentPolicy,
    token_count: str = "exact",
    progress: Callable[[], None] | None = None,
) -> tuple[list[Prompt], ContextReport]:
    """The prompts that fit (some shortened under `truncate`), each with `prompt_tokens` set, and a report."""
    report = ContextReport(policy, max_context_tokens, max_new_tokens, token_count)
    budget = None if max_context_tokens is None else max_context_tokens - max_new_tokens
    if budget is not None and budget <= 0:
        raise ValueError(
            f"--max_new_tokens {max_new_tokens} leaves no room for a prompt in a context of {max_context_tokens} tokens"
        )
    kept = []
    for prompt in prompts:
        tokens = count_tokens(prompt.messages)
        if progress:
            progress()
        if budget is None or tokens <= budget:
            kept.append(replace(prompt, prompt_tokens=tokens))
            continue
        if policy == "truncate" and prompt.document is not None:
            shortened = _truncate(prompt, count_tokens, budget)
            if shortened is not None:
                kept.append(shortened)
                report.truncated.append(
                    {
                        "id": prompt.id,
                        "prompt_tokens": tokens,
                        "kept_tokens": shortened.prompt_tokens,
                        "document_chars_kept": len(shortened.document or ""),
                        "document_chars": len(prompt.document),
                    }
                )
                continue
        reason = (
            "no document to shorten"
            if prompt.document is None
            else f"over the context under --long_documents {policy}"
        )
        report.skipped.append({"id": prompt.id, "prompt_tokens": tokens, "budget": budget, "reason": reason})
    return kept, report


def _truncate(prompt: Prompt, count_tokens: Callable[[Messages], int], budget: int) -> Prompt | None:
    """The prompt with the longest prefix of its document that fits (cut at a space); None if none does."""
    document, rebuild = prompt.document or "", prompt.with_document
    if rebuild is None:
        return None

    def attempt(length: int) -> tuple[Messages, int]:
        messages = rebuild(document[:length] + TRUNCATION_MARK)
        return messages, count_tokens(messages)

    # Binary search on characters (token counts grow with the prefix): ~17 tokenizations for
    # the longest DACR-Bench document.
    low, high, best = 0, len(document) - 1, None
    while low <= high:
        middle = (low + high) // 2
        messages, tokens = attempt(middle)
        if tokens <= budget:
            best, low = (middle, messages, tokens), middle + 1
        else:
            high = middle - 1
    if best is None:
        return None
    # End at a space so no word is cut in half (a shorter prefix, so it still fits).
    cut = document.rfind(" ", 0, best[0])
    if cut > 0:
        messages, tokens = attempt(cut)
        if tokens <= budget:
            best = (cut, messages, tokens)
    length, messages, tokens = best
    return replace(prompt, messages=messages, document=document[:length], prompt_tokens=tokens)


def prompts_hash(prompts: list[Prompt]) -> str:
    """sha256 of exactly what the model is shown (ids, messages and any scored continuations, in id order)."""
    digest = hashlib.sha256()
    for prompt in sorted(prompts, key=lambda p: p.id):
        shown = (
            [prompt.id, prompt.messages]
            if prompt.continuations is None
            else [prompt.id, prompt.messages, prompt.continuations]
        )
        digest.update(dumps(shown, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()
