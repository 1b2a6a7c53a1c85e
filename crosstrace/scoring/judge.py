"""IAScore through an LLM judge on any OpenAI-compatible `/v1/chat/completions` endpoint.

    export CROSSTRACE_JUDGE_BASE_URL=https://api.openai.com/v1   # or a vLLM server: http://host:8000/v1
    export CROSSTRACE_JUDGE_MODEL=gpt-4o
    export CROSSTRACE_JUDGE_API_KEY=...                           # the judge's own key (never the model's)

    from crosstrace.scoring.judge import Judge, JudgeConfig
    judge = Judge(JudgeConfig.from_env(cache_dir="dacr_results/judge_cache"))
    results = judge.score_pairs(reference_ideas, generated_ideas)
    [r.score for r in results]                                    # floats in [0, 1], None when unreadable
    judge.write_log("dacr_results/<run>/judge_outputs.jsonl")

IAScore (Kumar et al. 2024, arXiv 2409.06185) asks a judge how well a generated idea aligns
with a reference idea, on a 0-1 scale, and averages. It is an alignment score against a
reference, not a novelty score. The judge prompt below is this project's own wording
(JUDGE_PROMPT_VERSION): it asks for the core idea to be compared, not wording or style, and for
one final line `Score: <number>`. `parse_score` reads odd replies too (JSON, "8/10", "80%",
"4 out of 5", a score line after reasoning), and returns None for a reply without a usable
score, which is counted, never guessed.

Requests: temperature 0 and a seed, both recorded; retried with exponential backoff (1 s, 2 s,
4 s, ... capped, or the server's Retry-After) on connection errors, HTTP 429 and 5xx; other HTTP
errors (a context-length 400, say) fail that pair only and are recorded for it. A request that
times out is NOT retried: the server is still working on it, and a retry would queue the same
work again behind it, so it keeps its concurrency slot: abandoned plus live requests never exceed
`concurrency`, and once every slot is abandoned the server is taken as too slow for the timeout and
nothing more is sent (the remaining pairs are recorded as not sent). An output with no idea in it scores 0
without a request. With `repeats` > 1 each pair is judged that many times, repeat r with seed
`seed + r`, so the judge's own spread can be reported. At most `concurrency` requests are in
flight (threads). Every reply is cached on disk under a hash of (endpoint URL, model, prompt
version, messages, decoding settings, seed, repeat), so a rerun sends no request it has already
sent. Only the standard library is used for HTTP.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crosstrace.jsonio import dumps, loads

JUDGE_PROMPT_VERSION = "crosstrace-iascore-judge-1.0"
ENV_BASE_URL, ENV_MODEL, ENV_API_KEY = (
    "CROSSTRACE_JUDGE_BASE_URL",
    "CROSSTRACE_JUDGE_MODEL",
    "CROSSTRACE_JUDGE_API_KEY",
)
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_IDEA_CHARS = 6000  # a runaway generation is cut before it reaches the judge

SYSTEM_PROMPT = (
    "You evaluate research ideas. You will see a reference idea, written by the authors of a "
    "paper, and a generated idea, written for the same research context. Judge how well the "
    "generated idea aligns with the reference idea: does it reach the same core insight and "
    "propose the same hypothesis, possibly in other words?\n\n"
    "Scale (any number between 0 and 1 is allowed):\n"
    "1.0 - the same core insight and hypothesis;\n"
    "0.75 - the same core insight, with a hypothesis that differs in a secondary detail;\n"
    "0.5 - partly aligned: a related insight, or the same direction with a different mechanism;\n"
    "0.25 - the same topic but a different idea;\n"
    "0.0 - unrelated, contradictory, or no idea stated.\n\n"
    "Compare ideas, not wording, length, style or formatting. Do not reward an idea for being "
    "longer or listing more alternatives. You may reason briefly; end your reply with one line "
    "of the form 'Score: <number between 0 and 1>'."
)
USER_TEMPLATE = "Reference idea:\n{reference}\n\nGenerated idea:\n{generation}\n\nHow well does the generated idea align with the reference idea?"
CONTEXT_TEMPLATE = "Research context:\n{context}\n\n{user}"
# What the judge is shown besides the ideas, hashed so that results.json pins the exact wording
# (JUDGE_PROMPT_VERSION names it; the hash catches an edit that forgot to bump the version).
JUDGE_PROMPT_SHA256 = hashlib.sha256(
    json.dumps([SYSTEM_PROMPT, USER_TEMPLATE, CONTEXT_TEMPLATE, MAX_IDEA_CHARS]).encode("utf-8")
).hexdigest()
NO_IDEA = "the output states no idea: scored 0 without a request"


def build_messages(reference: str, generation: str, context: str | None = None) -> list[dict[str, str]]:
    reference, generation = reference.strip()[:MAX_IDEA_CHARS], generation.strip()[:MAX_IDEA_CHARS]
    user = USER_TEMPLATE.format(reference=reference or "(none)", generation=generation or "(none)")
    if context:
        user = CONTEXT_TEMPLATE.format(context=context.strip()[:MAX_IDEA_CHARS], user=user)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


# ----------------------------------------------------------------------------- score parsing

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_JSON_SCORE = re.compile(r'"(?:score|iascore|rating)"\s*:\s*"?(' + _NUMBER + r')"?', re.IGNORECASE)
_LABELLED = re.compile(
    r"(?:score|iascore|rating|alignment)\s*(?:\*\*)?\s*(?:is|of|=|:)?\s*(?:\*\*)?\s*("
    + _NUMBER
    + r")\s*(?:(%)|(?:/|out\s+of)\s*("
    + _NUMBER
    + r"))?",
    re.IGNORECASE,
)
_FRACTION = re.compile(r"(" + _NUMBER + r")\s*(?:/|out\s+of)\s*(" + _NUMBER + r")", re.IGNORECASE)
_PERCENT = re.compile(r"(" + _NUMBER + r")\s*%")
_BARE = re.compile(r"^\s*(?:\*\*)?(" + _NUMBER + r")(?:\*\*)?\s*\.?\s*$")


def _scaled(value: str, percent: str | None = None, scale: str | None = None) -> float | None:
    number = float(value)
    if percent:
        number /= 100.0
    elif scale:
        denominator = float(scale)
        if denominator <= 0:
            return None
        number /= denominator
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def parse_score(reply: str | None) -> float | None:
    """A 0-1 score from a judge reply, or None. The last labelled score wins (judges reason
    first); a bare number outside [0, 1] with no scale ("Score: 8") is unreadable, not guessed."""
    if not reply or not reply.strip():
        return None
    text = _strip_reasoning(reply)
    json_scores = list(_JSON_SCORE.finditer(text))
    if json_scores:
        return _scaled(json_scores[-1].group(1))
    labelled = list(_LABELLED.finditer(text))
    if labelled:
        last = labelled[-1]
        return _scaled(last.group(1), last.group(2), last.group(3))
    last_line = [line for line in text.strip().splitlines() if line.strip()][-1]
    for pattern, builder in (
        (_FRACTION, lambda m: _scaled(m.group(1), scale=m.group(2))),
        (_PERCENT, lambda m: _scaled(m.group(1), percent="%")),
    ):
        matches = list(pattern.finditer(last_line))
        if matches:
            return builder(matches[-1])
    bare = _BARE.match(last_line)
    return _scaled(bare.group(1)) if bare else None


def _strip_reasoning(reply: str) -> str:
    lowered = reply.lower()
    if "</think>" in lowered:
        return reply[lowered.rindex("</think>") + len("</think>") :]
    return reply


# ----------------------------------------------------------------------------- configuration


@dataclass
class JudgeConfig:
    """Where the judge is and how it is asked. `from_env` fills unset fields from the environment."""

    base_url: str
    model: str
    api_key: str | None = None
    temperature: float = 0.0
    seed: int = 0
    repeats: int = 1
    max_tokens: int = 256
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    concurrency: int = 4
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("repeats", "max_tokens", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"judge {name} must be at least 1, got {getattr(self, name)}")
        if self.timeout_s <= 0 or self.temperature < 0 or self.max_retries < 0:
            raise ValueError(
                f"judge timeout must be > 0, temperature and retries >= 0; got {self.timeout_s}, "
                f"{self.temperature}, {self.max_retries}"
            )

    @classmethod
    def from_env(
        cls, base_url: str | None = None, model: str | None = None, api_key: str | None = None, **options: Any
    ) -> JudgeConfig:
        """Flags win over the environment. The key is the judge's own ($CROSSTRACE_JUDGE_API_KEY): the
        model's $OPENAI_API_KEY is never read here, so it is never sent to another host by accident."""
        base_url = base_url or os.environ.get(ENV_BASE_URL) or os.environ.get("OPENAI_BASE_URL")
        model = model or os.environ.get(ENV_MODEL)
        api_key = api_key or os.environ.get(ENV_API_KEY)
        missing = [
            name
            for name, value in (
                ("base URL (--judge-base-url or " + ENV_BASE_URL + ")", base_url),
                ("model (--judge-model or " + ENV_MODEL + ")", model),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"the IAScore judge needs a {' and a '.join(missing)}")
        return cls(base_url=base_url, model=model, api_key=api_key, **options)

    @property
    def endpoint(self) -> str:
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def describe(self) -> dict[str, Any]:
        """What a results file records about the judge (never the key)."""
        return {
            "base_url": self.base_url,
            "model": self.model,
            "temperature": self.temperature,
            "seed": self.seed,
            "repeats": self.repeats,
            "repeat_seeds": [self.seed + r for r in range(self.repeats)],
            "max_tokens": self.max_tokens,
            "timeout_s": self.timeout_s,
            "prompt_version": JUDGE_PROMPT_VERSION,
            "prompt_sha256": JUDGE_PROMPT_SHA256,
        }


@dataclass
class JudgeResult:
    """One pair's judgement: `score` is the mean over the repeats that gave one (`repeat_scores`)."""

    score: float | None
    reply: str | None
    key: str
    cached: bool = False
    error: str | None = None
    attempts: int = 0
    repeat_scores: list[float | None] = field(default_factory=list)
    note: str | None = None


class JudgeError(RuntimeError):
    """A request that failed for good (non-retryable status, timeout, or retries exhausted)."""

    def __init__(self, message: str, attempts: int = 1):
        super().__init__(message)
        self.attempts = attempts


# ----------------------------------------------------------------------------- the judge


@dataclass
class _Cache:
    folder: Path | None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, key: str) -> Path | None:
        return self.folder / key[:2] / f"{key}.json" if self.folder else None

    def get(self, key: str) -> str | None:
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        try:
            return loads(path.read_text(encoding="utf-8"))["reply"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged cache file is a miss, and is rewritten

    def put(self, key: str, record: dict[str, Any]) -> None:
        path = self.path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{threading.get_ident()}")
        temporary.write_text(dumps(record), encoding="utf-8")
        os.replace(temporary, path)


def _is_timeout(error: BaseException) -> bool:
    """urllib raises a read timeout as TimeoutError and a connect timeout as URLError(TimeoutError)."""
    return isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError)


class Judge:
    """Scores (reference, generation) pairs; `transport` and `sleep` are replaceable for tests."""

    def __init__(
        self,
        config: JudgeConfig,
        transport: Callable[[str, bytes, dict[str, str], float], tuple[int, dict[str, str], bytes]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
    ):
        self.config = config
        self.transport = transport or _urllib_transport
        self.sleep = sleep
        self._cache = _Cache(Path(config.cache_dir) if config.cache_dir else None)
        self._jitter = random.Random(seed)
        self._jitter_lock = threading.Lock()
        self.log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._slots = threading.Semaphore(config.concurrency)
        self._abandoned = 0  # timed-out requests, taken as still running on the server
        self.gave_up: str | None = None  # why requests stopped being sent, once they have

    def cache_key(self, messages: list[dict[str, str]], repeat: int = 0) -> str:
        payload = {
            "endpoint": self.config.endpoint,
            "model": self.config.model,
            "prompt_version": JUDGE_PROMPT_VERSION,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "seed": self.config.seed + repeat,
            "repeat": repeat,
        }
        return hashlib.sha256(dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()

    def score_pairs(
        self,
        references: Sequence[str],
        generations: Sequence[str],
        contexts: Sequence[str | None] | None = None,
        progress: bool = False,
    ) -> list[JudgeResult]:
        """One result per pair, in order; failures are results with an error, never raised."""
        if len(references) != len(generations):
            raise ValueError(f"need one generation per reference, got {len(generations)} for {len(references)}")
        contexts = list(contexts) if contexts is not None else [None] * len(references)
        jobs = [
            (build_messages(r, g, c), repeat, not g.strip())
            for r, g, c in zip(references, generations, contexts, strict=True)
            for repeat in range(self.config.repeats)
        ]
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            futures = [pool.submit(self._score_one, *job) for job in jobs]
            iterator = futures
            if progress:
                from tqdm.auto import tqdm

                iterator = tqdm(futures, desc="IAScore judge", unit="request")
            done = [future.result() for future in iterator]
        repeats = self.config.repeats
        return [_combine(done[start : start + repeats]) for start in range(0, len(done), repeats)]

    def _score_one(self, messages: list[dict[str, str]], repeat: int, empty: bool) -> JudgeResult:
        key = self.cache_key(messages, repeat)
        cached = None if empty else self._cache.get(key)
        if empty:
            result = JudgeResult(0.0, None, key, note=NO_IDEA)  # nothing to judge: no request, and no credit
        elif cached is not None:
            result = JudgeResult(parse_score(cached), cached, key, cached=True)
        else:
            try:
                reply, attempts = self._request(messages, repeat)
            except JudgeError as error:
                result = JudgeResult(None, None, key, error=str(error), attempts=error.attempts)
            else:
                self._cache.put(
                    key,
                    {
                        "reply": reply,
                        "model": self.config.model,
                        "endpoint": self.config.endpoint,
                        "prompt_version": JUDGE_PROMPT_VERSION,
                        "repeat": repeat,
                        "created": time.time(),
                    },
                )
                result = JudgeResult(parse_score(reply), reply, key, attempts=attempts)
        with self._log_lock:
            self.log.append({"key": key, "repeat": repeat, **{k: v for k, v in asdict(result).items() if k != "key"}})
        return result

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.config.backoff_max_s)
            except ValueError:
                pass
        with self._jitter_lock:
            jitter = self._jitter.uniform(0.0, 0.25)
        return min(self.config.backoff_s * (2**attempt) * (1.0 + jitter), self.config.backoff_max_s)

    def _send(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """One request in one of `concurrency` slots. A timed-out request keeps its slot: the server is
        taken as still working on it, so abandoned plus live requests never exceed the concurrency,
        and once every slot is abandoned nothing more is sent."""
        while not self._slots.acquire(timeout=0.05):
            if self.gave_up:
                raise JudgeError(f"not sent: {self.gave_up}", 0)
        if self.gave_up:
            self._slots.release()
            raise JudgeError(f"not sent: {self.gave_up}", 0)
        try:
            answer = self.transport(self.config.endpoint, body, headers, self.config.timeout_s)
        except (OSError, http.client.HTTPException) as error:
            if _is_timeout(error):
                self._abandon()  # its slot stays taken
            else:
                self._slots.release()
            raise
        self._slots.release()
        return answer

    def _abandon(self) -> None:
        with self._log_lock:
            self._abandoned += 1
            if self._abandoned >= self.config.concurrency and self.gave_up is None:
                self.gave_up = (
                    f"{self._abandoned} request(s) timed out after {self.config.timeout_s:g} s and may still be running "
                    "on the judge server: it is too slow for --judge_timeout (raise it, or lower --judge_concurrency)"
                )

    def _request(self, messages: list[dict[str, str]], repeat: int = 0) -> tuple[str, int]:
        body = json.dumps(
            {
                "model": self.config.model,
                "messages": messages,
                "temperature": self.config.temperature,
                "seed": self.config.seed + repeat,
                "max_tokens": self.config.max_tokens,
            }
        ).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        last_error = "no attempt made"
        for attempt in range(self.config.max_retries + 1):
            retry_after = None
            try:
                status, response_headers, payload = self._send(body, headers)
            except JudgeError as error:
                raise JudgeError(str(error), attempt) from None
            except (OSError, http.client.HTTPException) as error:  # refused/reset, DNS, timeout, cut response
                if _is_timeout(error):
                    # The server is still computing the abandoned request: sending it again would
                    # queue the same work behind it. Recorded for this pair, never retried.
                    raise JudgeError(
                        f"timed out after {self.config.timeout_s:g} s (not retried: the server may still be "
                        "working on it; raise --judge_timeout for a slow judge)",
                        attempt + 1,
                    ) from None
                last_error = f"{type(error).__name__}: {error}"
            else:
                if status == 200:
                    return _reply_text(payload, attempt + 1), attempt + 1
                last_error = f"HTTP {status}: {payload[:300].decode('utf-8', 'replace')}"
                if status not in RETRY_STATUSES:
                    raise JudgeError(last_error, attempt + 1)
                retry_after = {k.lower(): v for k, v in response_headers.items()}.get("retry-after")
            if attempt < self.config.max_retries:
                self.sleep(self._backoff(attempt, retry_after))
        raise JudgeError(
            f"gave up after {self.config.max_retries + 1} attempts; last error: {last_error}",
            self.config.max_retries + 1,
        )

    def write_log(self, path: str | Path) -> Path:
        """Every judge reply of this session, one JSON line each, beside the scores."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for record in self.log:
                handle.write(dumps(record) + "\n")
        return path


def _combine(repeats: list[JudgeResult]) -> JudgeResult:
    """One pair's repeats -> its result: the mean of the scores that parsed; the first reply, key and error."""
    scores = [r.score for r in repeats]
    readable = [s for s in scores if s is not None]
    first = repeats[0]
    return JudgeResult(
        score=sum(readable) / len(readable) if readable else None,
        reply=first.reply,
        key=first.key,
        cached=all(r.cached for r in repeats),
        error=next((r.error for r in repeats if r.error), None) if not readable else None,
        attempts=sum(r.attempts for r in repeats),
        repeat_scores=scores,
        note=first.note,
    )


def _reply_text(payload: bytes, attempts: int) -> str:
    try:
        data = loads(payload.decode("utf-8"))
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise JudgeError(
            f"unexpected response body ({type(error).__name__}): {payload[:300].decode('utf-8', 'replace')}", attempts
        ) from None
    return content if isinstance(content, str) else json.dumps(content)


def _urllib_transport(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers or {}), error.read() or b""
