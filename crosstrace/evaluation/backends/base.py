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
from collections.abc import Callable, Iterator
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
    # "stop" (end of turn), "length" (hit max_new_tokens), "scored" (continuations scored, nothing
    # generated) or "failed" (the server refused this prompt: `error` says why; nothing to score)
    finish_reason: str
    output_tokens: int | None
    prompt_tokens: int | None = None  # the server's exact count (usage.prompt_tokens), where it reports one
    error: str | None = None


# (chat messages, continuation texts): score each continuation as the start of the reply.
LoglikRequest = tuple[Messages, list[str]]


class Backend(Protocol):
    name: str
    # True when a prompt's output does not depend on which prompts share its batch. The hf
    # backend pads a batch to its longest prompt, which changes the numerics slightly, so a
    # resumed run must regenerate whole batches to reproduce an uninterrupted run exactly.
    batch_invariant: bool
    context_length: int | None
    token_count: str  # "exact" or how the upper bound is made

    def count_tokens(self, messages: Messages) -> int: ...

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        """One generation per prompt, in order; `seeds[i]` is prompt i's sampling seed (see runner.prompt_seed)."""
        ...

    def generate_stream(
        self, batch: list[Messages], seeds: list[int], batch_size: int
    ) -> Iterator[tuple[int, Generation]]:
        """(index in `batch`, generation) as each finishes, in any order; what the runner uses on
        batch-invariant backends, so every output is saved as soon as it exists. vllm: engine calls of
        `batch_size` prompts (`stream_in_batches`); openai: a constant number of requests in flight."""
        ...

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        """Per request, each continuation's log-probability (summed over its tokens) as the start of
        the assistant's reply to the messages; raises BackendError where the backend cannot.
        `share_prompt=False` scores every continuation in a sequence of its own (see `plan_sequences`)."""
        ...

    def describe(self) -> dict[str, Any]: ...


def stream_in_batches(
    generate: Callable[[list[Messages], list[int]], list[Generation]],
    batch: list[Messages],
    seeds: list[int],
    batch_size: int,
) -> Iterator[tuple[int, Generation]]:
    """`generate_stream` for a backend that generates a batch at a time: one call per `batch_size` prompts."""
    for start in range(0, len(batch), batch_size):
        outputs = generate(batch[start : start + batch_size], seeds[start : start + batch_size])
        yield from enumerate(outputs, start)


# Sampling settings outside the OpenAI API, with the values that leave decoding unchanged. vLLM,
# SGLang and llama.cpp servers take them; hosted APIs may refuse unknown fields (HTTP 400) and
# transformers serve does (422). hf and vllm (in-process) always apply them.
SAMPLING_EXTRAS_NEUTRAL = {"top_k": 0, "repetition_penalty": 1.0}
SERVER_DEFAULT = "server default"  # recorded for a setting that was not sent: the server chose it


def sampling_extras_sent(args: EvalArguments) -> dict[str, Any]:
    """The extras a request carries: all of them in-process and with --send_sampling_extras, else only
    those set away from their neutral value (a user's explicit choice is sent, whatever the server).
    Greedy decoding ignores top_k: it counts as off, as top_p counts as 1."""
    values = {"top_k": 0 if args.temperature == 0 else args.top_k, "repetition_penalty": args.repetition_penalty}
    if args.backend != "openai" or args.send_sampling_extras:
        return values
    return {name: value for name, value in values.items() if value != SAMPLING_EXTRAS_NEUTRAL[name]}


def decoding_settings(args: EvalArguments) -> dict[str, Any]:
    """The decoding settings recorded in results.json: what was applied or sent, and "server default"
    for what an OpenAI-compatible server was left to choose. batch_size only where batches exist."""
    greedy = args.temperature == 0
    sent = sampling_extras_sent(args)
    settings = {
        "strategy": "greedy" if greedy else "sampling",
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "top_p": 1.0 if greedy else args.top_p,
        **{name: sent.get(name, SERVER_DEFAULT) for name in SAMPLING_EXTRAS_NEUTRAL},
        "seed": args.seed,
    }
    if args.backend != "openai":
        settings["batch_size"] = args.batch_size
    return settings


# Backend name -> "module:class", imported on use: choosing `openai` never imports torch.
BACKENDS = {
    "hf": "crosstrace.evaluation.backends.hf:HFBackend",
    "vllm": "crosstrace.evaluation.backends.vllm:VLLMBackend",
    "openai": "crosstrace.evaluation.backends.openai:OpenAIBackend",
}


def backend_class(name: str) -> type:
    """The class of backend `name`, imported but not built (no model loads): e.g. to read `batch_invariant`."""
    if name not in BACKENDS:
        raise BackendError(f"--backend {name!r}: choose among {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_backend(args: EvalArguments) -> Backend:
    return backend_class(args.backend)(args)


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
