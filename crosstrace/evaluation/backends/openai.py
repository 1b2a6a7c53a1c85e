"""The `openai` backend: any OpenAI-compatible /v1/chat/completions server, standard library only.

Retries timeouts, 429 and 5xx (exponential backoff, Retry-After honoured) with bounded
concurrency. With `--adapter`, the adapter's name is sent as the model (how vLLM's server names
LoRA modules). A chat-completions endpoint returns no log-probs of given text: no loglik scoring.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crosstrace.evaluation.arguments import LOGLIK_NEEDS_PROMPT_LOGPROBS, EvalArguments
from crosstrace.evaluation.backends.base import BackendError, Generation, LoglikRequest, chat_text, load_tokenizer
from crosstrace.evaluation.prompts import Messages
from crosstrace.jsonio import InvalidJSON, loads

# Without a tokenizer, prompt length is estimated from characters. English BPE averages about 4
# characters a token; 3 over-counts on purpose, so the estimate errs towards skipping.
CHARS_PER_TOKEN_ESTIMATE = 3

# HTTP statuses worth retrying: rate limits and server-side failures. Anything else is a request
# the server will never accept (bad model name, bad key): retrying would only waste time.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


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
        self.token_count = "exact" if self.tokenizer else f"estimated ({CHARS_PER_TOKEN_ESTIMATE} characters a token)"
        self.context_length = args.max_context_tokens  # a server does not say; unchecked unless given

    def count_tokens(self, messages: Messages) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer(chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)
        return -(-sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN_ESTIMATE)

    def payload(self, messages: Messages, seed: int) -> dict[str, Any]:
        greedy = self.args.temperature == 0
        # Every sampling field is sent explicitly: servers (vLLM's included) otherwise apply the
        # model's generation_config defaults, which for Qwen2.5 means sampling.
        return {
            "model": self.served_model,
            "messages": messages,
            "max_tokens": self.args.max_new_tokens,
            "temperature": 0.0 if greedy else self.args.temperature,
            "top_p": 1.0 if greedy else self.args.top_p,
            "seed": seed,
        }

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
                if error.code not in RETRY_STATUSES:
                    raise BackendError(f"{self.url} answered HTTP {error.code}: {detail}") from None
                last_error = f"HTTP {error.code}: {detail}"
                retry_after = error.headers.get("Retry-After") if error.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            except (InvalidJSON, UnicodeDecodeError) as error:
                last_error = f"reply is not JSON ({error})"
            if attempt < self.args.max_retries:
                time.sleep(_backoff_seconds(attempt, retry_after))
        raise BackendError(
            f"{self.url}: no answer after {self.args.max_retries + 1} attempts ({last_error}). Finished samples are saved: rerun the same command to resume."
        )

    def _one(self, messages: Messages, seed: int) -> Generation:
        reply = self._post(self.payload(messages, seed))
        try:
            choice = reply["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(
                f"{self.url}: unexpected reply shape (no choices[0].message): {json.dumps(reply)[:300]}"
            ) from None
        usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(text=text, finish_reason=finish, output_tokens=usage.get("completion_tokens"))

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        with ThreadPoolExecutor(max_workers=min(self.args.max_concurrency, len(batch))) as pool:
            return list(pool.map(self._one, batch, seeds))

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        raise BackendError(LOGLIK_NEEDS_PROMPT_LOGPROBS)

    def describe(self) -> dict[str, Any]:
        return {
            "served_model": self.served_model,
            "tokenizer": self.args.tokenizer,
            "context_length": self.context_length,
            "token_count": self.token_count,
        }


def _backoff_seconds(attempt: int, retry_after: str | None) -> float:
    """Retry-After when the server gives seconds; else 1, 2, 4, ... s (capped at 60) with jitter."""
    if retry_after:
        try:
            return min(float(retry_after), 120.0)
        except ValueError:
            pass
    return min(2.0**attempt, 60.0) * (0.5 + random.random())
