"""The `openai` backend: any OpenAI-compatible /v1/chat/completions server, standard library only.

Keeps `--max_concurrency` requests in flight the whole time: a new one goes out as soon as any
reply arrives, so a slow reply holds one slot rather than a round. Retries timeouts, connection
errors, 408/409/429 and 5xx (exponential backoff, Retry-After honoured); when the retries run
out the run stops (the server is down or overloaded: every other prompt would fail too) and a
rerun resumes. A prompt the server refuses (400, 413, 422: too long for its context, a field it
does not take) is that prompt's failure, recorded, and the run goes on. With `--adapter`, the
adapter's name is sent as the model (how vLLM's server names LoRA modules). A chat-completions
endpoint returns no log-probs of given text: no loglik scoring.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from crosstrace.evaluation.arguments import LOGLIK_NEEDS_PROMPT_LOGPROBS, EvalArguments
from crosstrace.evaluation.backends.base import (
    SAMPLING_EXTRAS_NEUTRAL,
    BackendError,
    Generation,
    LoglikRequest,
    chat_text,
    load_tokenizer,
    sampling_extras_sent,
)
from crosstrace.evaluation.prompts import Messages
from crosstrace.jsonio import InvalidJSON, loads

logger = logging.getLogger(__name__)

# Without a tokenizer, the prompt-length check needs a count that is never below the real one.
# A token of a byte-level BPE (GPT-2, Llama 3, Qwen) or of SentencePiece with byte fallback covers
# at least one byte of text, so UTF-8 bytes bound the content's tokens. The chat template adds
# role markers and special tokens (ChatML: 5 a message, 3 for the reply's header) and may add a
# default system prompt (Qwen2.5's is ~20 tokens, Llama 3.1's date lines ~25): the allowance
# covers those with room. For English this is ~4x the real count: --tokenizer counts exactly.
TEMPLATE_ALLOWANCE_TOKENS = 128
PER_MESSAGE_ALLOWANCE_TOKENS = 8

# HTTP statuses worth retrying: rate limits and server-side failures.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
# Statuses by which a server refuses one request's content (vLLM answers 400 to a prompt over
# its context length; transformers serve 422 to a field it does not take): that prompt fails,
# the others are still sent. Any other status (401, 403, 404: key, model name, URL) is wrong for
# every prompt alike and stops the run.
REFUSED_PROMPT_STATUSES = frozenset({400, 413, 422})
# top_k "off" on the wire: vLLM, SGLang and llama.cpp all read -1 as no limit (vLLM refused 0 until recently).
TOP_K_OFF = -1


class PromptRefused(BackendError):
    """The server refused this request's content: a failure of this prompt, not of the run."""


class OpenAIBackend:
    name = "openai"
    batch_invariant = True  # one request per prompt

    def __init__(self, args: EvalArguments):
        self.args = args
        base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise BackendError("--backend openai needs --base_url (e.g. http://localhost:8000/v1) or $OPENAI_BASE_URL")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = os.environ.get(args.api_key_env)
        self.served_model = args.adapter or args.model
        self.tokenizer = load_tokenizer(args.tokenizer, args.trust_remote_code) if args.tokenizer else None
        self.token_count = (
            "exact"
            if self.tokenizer
            else f"upper bound (UTF-8 bytes + {TEMPLATE_ALLOWANCE_TOKENS} + {PER_MESSAGE_ALLOWANCE_TOKENS} a message for the chat template; --tokenizer counts exactly)"
        )
        self.context_length = args.max_context_tokens  # a server does not say; unchecked unless given
        if self.context_length and not self.tokenizer:
            logger.warning(
                "--max_context_tokens without --tokenizer: prompt lengths are bounded from their UTF-8 bytes (~4x the real "
                "count for English), so prompts that would fit may be skipped or truncated; pass --tokenizer to count exactly"
            )
        self.sampling_extras = sampling_extras_sent(args)
        unsent = [name for name in SAMPLING_EXTRAS_NEUTRAL if name not in self.sampling_extras]
        if unsent:
            logger.warning(
                "not sent: %s; the server applies its own (vLLM applies the model's generation_config, e.g. repetition "
                "penalty 1.05 for Qwen2.5) and results.json records 'server default'. Pass --send_sampling_extras where "
                "the server takes them (vLLM, SGLang, llama.cpp)",
                ", ".join(unsent),
            )

    def count_tokens(self, messages: Messages) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer(chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)
        content = sum(len(m["content"].encode("utf-8")) for m in messages)
        return content + TEMPLATE_ALLOWANCE_TOKENS + PER_MESSAGE_ALLOWANCE_TOKENS * len(messages)

    def payload(self, messages: Messages, seed: int) -> dict[str, Any]:
        greedy = self.args.temperature == 0
        # Every OpenAI sampling field is sent explicitly: servers (vLLM's included) otherwise apply
        # the model's generation_config defaults, which for Qwen2.5 means sampling. The extras go
        # only where sampling_extras_sent says (results.json records the same decision).
        body = {
            "model": self.served_model,
            "messages": messages,
            "max_tokens": self.args.max_new_tokens,
            "temperature": 0.0 if greedy else self.args.temperature,
            "top_p": 1.0 if greedy else self.args.top_p,
            "seed": seed,
            **self.sampling_extras,
        }
        if body.get("top_k") == 0:
            body["top_k"] = TOP_K_OFF
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(self.args.max_retries + 1):
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.args.request_timeout) as response:
                    return loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")[:300]
                if error.code in REFUSED_PROMPT_STATUSES:
                    raise PromptRefused(f"HTTP {error.code}: {detail}") from None
                if error.code not in RETRY_STATUSES:
                    raise BackendError(
                        f"{self.url} answered HTTP {error.code}: {detail} (check --model, --base_url and the key in ${self.args.api_key_env})"
                    ) from None
                last_error = f"HTTP {error.code}: {detail}"
                retry_after = error.headers.get("Retry-After") if error.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as error:
                last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            except (InvalidJSON, UnicodeDecodeError) as error:
                last_error = f"reply is not JSON ({error})"
            if attempt < self.args.max_retries:
                time.sleep(_backoff_seconds(attempt, retry_after))
        raise BackendError(
            f"{self.url}: no answer after {self.args.max_retries + 1} attempts ({last_error}). Finished samples are saved: rerun the same command to resume."
        )

    def _one(self, messages: Messages, seed: int) -> Generation:
        try:
            reply = self._post(self.payload(messages, seed))
        except PromptRefused as refusal:
            return Generation(text="", finish_reason="failed", output_tokens=None, error=str(refusal))
        try:
            choice = reply["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(
                f"{self.url}: unexpected reply shape (no choices[0].message): {json.dumps(reply)[:300]}"
            ) from None
        usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(
            text=text,
            finish_reason=finish,
            output_tokens=usage.get("completion_tokens"),
            prompt_tokens=usage.get("prompt_tokens") if isinstance(usage.get("prompt_tokens"), int) else None,
        )

    def generate_stream(
        self, batch: list[Messages], seeds: list[int], batch_size: int | None = None
    ) -> Iterator[tuple[int, Generation]]:
        """(index, generation) as each reply arrives, `--max_concurrency` requests in flight throughout
        (`batch_size` is not used: there are no rounds). When one request fails for good, nothing new
        is sent; the replies already in flight are still yielded (so they are saved), then it raises."""
        if not batch:
            return
        stop = threading.Event()  # set by the first request that fails for good: nothing new is sent after it

        def request(messages: Messages, seed: int) -> Generation | None:
            if stop.is_set():
                return None
            try:
                return self._one(messages, seed)
            except BackendError:
                stop.set()  # before this worker takes the next prompt
                raise

        pool = ThreadPoolExecutor(max_workers=min(self.args.max_concurrency, len(batch)))
        futures = {pool.submit(request, m, s): i for i, (m, s) in enumerate(zip(batch, seeds, strict=True))}
        failure: BackendError | None = None
        try:
            for future in as_completed(futures):
                try:
                    generation = future.result()
                except BackendError as error:
                    failure = failure or error
                    continue
                if generation is not None:
                    yield futures[future], generation
        finally:
            stop.set()  # also when the caller stops early (a kill, an error): the queued prompts are not sent
            pool.shutdown(wait=False, cancel_futures=True)
        if failure is not None:
            raise failure

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        by_index = dict(self.generate_stream(batch, seeds))
        return [by_index[i] for i in range(len(batch))]

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        raise BackendError(LOGLIK_NEEDS_PROMPT_LOGPROBS)

    def describe(self) -> dict[str, Any]:
        return {
            "served_model": self.served_model,
            "tokenizer": self.args.tokenizer,
            "context_length": self.context_length,
            "token_count": self.token_count,
            "max_concurrency": self.args.max_concurrency,
        }


def _backoff_seconds(attempt: int, retry_after: str | None) -> float:
    """Retry-After when the server gives seconds; else 1, 2, 4, ... s (capped at 60) with jitter."""
    if retry_after:
        try:
            return min(float(retry_after), 120.0)
        except ValueError:
            pass
    return min(2.0**attempt, 60.0) * (0.5 + random.random())
