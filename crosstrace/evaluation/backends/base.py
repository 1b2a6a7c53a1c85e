"""What every generation backend is: the `Backend` protocol, its result types, and the registry.

A backend takes chat messages and returns text, decodes with the settings given (greedy by
default), and says how it counts prompt tokens and how long its context is, so the
long-document policy can be applied before anything is generated. `hf` and `vllm` also score
given continuations by their log-probability after the prompt (`loglikelihood`, for
`--mcq_scoring loglik`); a chat-completions server cannot. Each backend lives in a module of its
own (hf.py, vllm.py, openai.py), imported only when chosen: `create_backend(args)`.

Also here: the tokenizer helpers the backends share (which tokenizer to load, the chat template).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.prompts import Messages


class BackendError(RuntimeError):
    """A backend that cannot be set up or cannot generate; the message says what to do."""


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str  # "stop" (end of turn), "length" (hit max_new_tokens) or "scored" (continuations scored, nothing generated)
    output_tokens: int | None


# (chat messages, continuation texts): score each continuation as the start of the reply.
LoglikRequest = tuple[Messages, list[str]]


class Backend(Protocol):
    name: str
    # True when a prompt's output does not depend on which prompts share its batch. The hf
    # backend pads a batch to its longest prompt, which changes the numerics slightly, so a
    # resumed run must regenerate whole batches to reproduce an uninterrupted run exactly.
    batch_invariant: bool
    context_length: int | None
    token_count: str  # "exact" or how the estimate is made

    def count_tokens(self, messages: Messages) -> int: ...

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        """One generation per prompt, in order; `seeds[i]` is prompt i's sampling seed (see runner.prompt_seed)."""
        ...

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        """Per request, each continuation's log-probability (summed over its tokens) as the start of
        the assistant's reply to the messages; raises BackendError where the backend cannot.
        `share_prompt=False` scores every continuation in a sequence of its own (see `plan_sequences`)."""
        ...

    def describe(self) -> dict[str, Any]: ...


def decoding_settings(args: EvalArguments) -> dict[str, Any]:
    """The decoding settings recorded in results.json (the same for every backend)."""
    greedy = args.temperature == 0
    return {
        "strategy": "greedy" if greedy else "sampling",
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "top_p": 1.0 if greedy else args.top_p,
        "repetition_penalty": 1.0,
        "seed": args.seed,
        "batch_size": args.batch_size,
    }


# Backend name -> "module:class", imported on use: choosing `openai` never imports torch.
BACKENDS = {
    "hf": "crosstrace.evaluation.backends.hf:HFBackend",
    "vllm": "crosstrace.evaluation.backends.vllm:VLLMBackend",
    "openai": "crosstrace.evaluation.backends.openai:OpenAIBackend",
}


def create_backend(args: EvalArguments) -> Backend:
    if args.backend not in BACKENDS:
        raise BackendError(f"--backend {args.backend!r}: choose among {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[args.backend].split(":")
    return getattr(importlib.import_module(module_name), class_name)(args)


def load_tokenizer(name_or_path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise BackendError(f"cannot load a tokenizer from {name_or_path!r}: {error}") from None


def pick_tokenizer_source(args: EvalArguments, model_path: str) -> str:
    """--tokenizer, else a local adapter folder's own tokenizer (training may change the template), else the model's."""
    if args.tokenizer:
        return args.tokenizer
    if args.adapter and (Path(args.adapter) / "tokenizer_config.json").is_file():
        return args.adapter
    return model_path


def chat_text(tokenizer, messages: Messages) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise BackendError(
            f"the tokenizer {tokenizer.name_or_path!r} has no chat template: evaluate an instruct model, or pass --tokenizer with a chat template"
        )
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
