"""Resumable generation: every finished output is on disk as soon as it exists.

Outputs go to `<run>/generations/<task>.jsonl`, one JSON line per prompt, written, flushed and
fsync'ed as soon as its batch returns (on the openai backend, its reply: requests stay in flight
without rounds). On a restart the finished ids are read back and skipped,
so a run killed at any moment (SIGKILL included) and started again ends with exactly the
outputs of an uninterrupted run, and no prompt is generated into the file twice:

- batches are fixed in advance (prompts sorted longest first, then by id), and a batch with any
  unfinished prompt is regenerated whole on backends whose outputs depend on batch
  composition (hf pads to the longest prompt); only the missing outputs are appended;
- each prompt's sampling seed derives from the run seed and its id, not from its position;
- a line torn by a kill mid-write (no final newline) is cut off and its prompt generated again;
- each line records a hash of its prompt: resuming with different prompts is an error, not a mix;
- a prompt the server refuses (the openai backend's 400/413/422) is not written: it is returned as
  failed for the results to count, and the next run sends it again.

A prompt with continuations (`--mcq_scoring loglik`) is not generated from: its output is the
JSON table of each continuation's log-probability, e.g. `{"A": -7.1, "B": -2.3, ...}` (a
non-finite value is written as null), stored and resumed exactly like generated text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from crosstrace.errors import DataError
from crosstrace.evaluation.backends import Backend, Generation
from crosstrace.evaluation.prompts import Prompt
from crosstrace.jsonio import dumps, iter_jsonl

logger = logging.getLogger(__name__)

GENERATIONS_DIR = "generations"


def prompt_seed(base_seed: int, prompt_id: str) -> int:
    """A sampling seed per prompt, independent of batch position (so resuming changes nothing)."""
    digest = hashlib.sha256(f"{base_seed}:{prompt_id}".encode()).hexdigest()
    return int(digest[:8], 16)


def prompt_sha256(prompt: Prompt) -> str:
    shown = (
        prompt.messages
        if prompt.continuations is None
        else {"messages": prompt.messages, "continuations": prompt.continuations}
    )
    return hashlib.sha256(dumps(shown, sort_keys=True).encode("utf-8")).hexdigest()


def generations_path(run_dir: Path, task: str) -> Path:
    return run_dir / GENERATIONS_DIR / f"{task}.jsonl"


def read_generations(path: Path, repair: bool = False) -> dict[str, dict[str, Any]]:
    """Finished generations by prompt id. With `repair`, a torn last line (killed mid-write) is cut off."""
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        if not repair:
            raise DataError(
                path,
                raw.count(b"\n") + 1,
                None,
                "the last line is incomplete (a run was killed while writing it); resume the run to repair it",
            )
        cut = raw.rfind(b"\n") + 1
        with path.open("r+b") as handle:
            handle.truncate(cut)
            handle.flush()
            os.fsync(handle.fileno())
        raw = raw[:cut]
    finished: dict[str, dict[str, Any]] = {}
    try:
        for line_number, record in iter_jsonl(path):
            if not isinstance(record.get("id"), str) or not isinstance(record.get("output"), str):
                raise DataError(path, line_number, "id/output", "expected an object with string 'id' and 'output'")
            if record["id"] in finished:
                raise DataError(path, line_number, "id", f"{record['id']!r} appears twice")
            finished[record["id"]] = record
    except DataError as error:
        raise DataError(
            error.path,
            error.line,
            error.field,
            f"{error.reason}; the file is damaged: delete it (or use --overwrite_output_dir) to start this task over",
        ) from None
    return finished


def _append(handle, record: dict[str, Any]) -> None:
    handle.write(dumps(record) + "\n")
    handle.flush()
    os.fsync(handle.fileno())  # on disk before the next batch: a kill loses at most the batch in flight


def _run_batch(backend: Backend, prompts: list[Prompt], seed: int) -> list[Generation]:
    """Generate a reply to each prompt, or, for prompts with continuations, score them (no generation)."""
    if prompts[0].continuations is None:
        return backend.generate([p.messages for p in prompts], [prompt_seed(seed, p.id) for p in prompts])
    tables = backend.loglikelihood([(p.messages, list(p.continuations.values())) for p in prompts])
    return [
        Generation(
            text=json.dumps(
                {label: _finite_or_none(value) for label, value in zip(p.continuations, values, strict=True)}
            ),
            finish_reason="scored",
            output_tokens=None,
        )
        for p, values in zip(prompts, tables, strict=True)
    ]


def _finite_or_none(value: float) -> float | None:
    """JSON has no infinity: a log-prob of -inf (a token the model gives no probability) becomes null."""
    return value if math.isfinite(value) else None


def batch_order(prompts: list[Prompt]) -> list[Prompt]:
    """Longest first (padding waste stays low, memory errors show up at once), ties by id: fixed for a run."""
    return sorted(prompts, key=lambda p: (-(p.prompt_tokens or 0), p.id))


@dataclass
class TaskGenerations:
    """What `generate_all` leaves: every finished generation by prompt id (in batch order), and the
    prompts that failed in this run ({id, error}: refused by the server). Failures are not saved,
    so the next run sends them again."""

    records: dict[str, dict[str, Any]]
    failed: list[dict[str, str]] = field(default_factory=list)


def _unfinished(
    backend: Backend, ordered: list[Prompt], finished: dict[str, Any], batch_size: int, seed: int
) -> Iterator[tuple[Prompt, Generation]]:
    """Each unfinished prompt with its generation, as soon as it exists.

    A batch-invariant backend gets every pending prompt at once and streams them back (the openai
    backend keeps its requests in flight across what would be batch boundaries; vllm still calls
    its engine `batch_size` prompts at a time). Others run the fixed batches, a batch with any
    unfinished prompt whole, and only its unfinished prompts come back."""
    pending = [p for p in ordered if p.id not in finished]
    if backend.batch_invariant and pending and pending[0].continuations is None:
        seeds = [prompt_seed(seed, p.id) for p in pending]
        for index, generation in backend.generate_stream([p.messages for p in pending], seeds, batch_size):
            yield pending[index], generation
        return
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        missing = {p.id for p in batch if p.id not in finished}
        if not missing:
            continue
        to_run = [p for p in batch if p.id in missing] if backend.batch_invariant else batch
        for prompt, generation in zip(to_run, _run_batch(backend, to_run, seed), strict=True):
            if prompt.id in missing:  # the others ran only to keep the batch as it was; already on disk
                yield prompt, generation


def _record(prompt: Prompt, generation: Generation) -> dict[str, Any]:
    record = {
        "id": prompt.id,
        "output": generation.text,
        "finish_reason": generation.finish_reason,
        "output_tokens": generation.output_tokens,
        "prompt_tokens": prompt.prompt_tokens,  # as counted before sending (for the context check)
        "prompt_sha256": prompt_sha256(prompt),
    }
    if generation.prompt_tokens is not None:
        record["server_prompt_tokens"] = generation.prompt_tokens  # the server's exact count
    return record


def generate_all(
    task: str, prompts: list[Prompt], backend: Backend, path: Path, batch_size: int, seed: int
) -> TaskGenerations:
    """Generate every prompt not yet in `path`; returns all finished generations of `prompts` and this run's failures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    finished = read_generations(path, repair=True)
    wanted = {p.id: p for p in prompts}
    for prompt_id, record in finished.items():
        prompt = wanted.get(prompt_id)
        if prompt is not None and record.get("prompt_sha256") != prompt_sha256(prompt):
            raise DataError(
                path,
                None,
                "prompt_sha256",
                f"{prompt_id!r} was generated from a different prompt than this run builds; use another --output_dir or --overwrite_output_dir",
            )
    ordered = batch_order(prompts)
    failed: list[dict[str, str]] = []
    done = sum(p.id in finished for p in prompts)
    with (
        path.open("a", encoding="utf-8") as handle,
        tqdm(total=len(prompts), initial=done, desc=f"{task}: generating", unit="prompt") as bar,
    ):
        for prompt, generation in _unfinished(backend, ordered, finished, batch_size, seed):
            bar.update(1)
            if generation.error is not None:
                logger.warning("%s: %s failed (%s); recorded, the run goes on", task, prompt.id, generation.error)
                failed.append({"id": prompt.id, "error": generation.error})
                continue
            record = _record(prompt, generation)
            _append(handle, record)
            finished[prompt.id] = record
    return TaskGenerations({p.id: finished[p.id] for p in ordered if p.id in finished}, failed)
