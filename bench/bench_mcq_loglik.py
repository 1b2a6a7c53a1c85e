"""`--mcq_scoring loglik`: one sequence per question against one sequence per option, side by side.

    python bench/bench_mcq_loglik.py                            # 8 engine questions, SmolLM2-135M-Instruct
    python bench/bench_mcq_loglik.py --n 16 --batch-size 8 --threads 2
    python bench/bench_mcq_loglik.py --data build/mcq --config engine_facts --split test --n 32
    python bench/bench_mcq_loglik.py --model builtin:tiny-qwen2  # the CI model: a quick check that it runs

What it measures and how:
1. Questions: N ten-option questions over engine challenges, made on the fly exactly as
   `python -m crosstrace.builders mcq --engine-n ...` makes its engine_facts config (or read from
   --data, a .jsonl file or a built folder), turned into the prompts and continuations
   "Answer: A" .. "Answer: J" that `evaluate.py --tasks mcq --mcq_scoring loglik` scores.
2. The model loaded once with `--backend hf` on the CPU (default `builtin:smollm2-135m-instruct`,
   the offline instruct model), the questions in evaluate.py's batches (longest first,
   --batch-size questions per call).
3. The same batches scored twice in this process, after one untimed warm-up call:
   `share_prompt=False`, each option its own sequence (ten forward rows per question, the path
   before sharing), then the default, one sequence per question with the ten letters read from
   the distribution after "Answer:". Wall-clock seconds of each, the ratio, the largest absolute
   difference between the two paths' option log-probs, and whether the chosen letters agree.
The machine is shared: the load average at the start is printed beside the times. The exit
status is 1 if the two paths differ by more than 1e-4 anywhere (the tests' tolerance).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.backends import LoglikRequest
from crosstrace.evaluation.backends.hf import HFBackend
from crosstrace.evaluation.prompts import Prompt
from crosstrace.evaluation.runner import batch_order
from crosstrace.evaluation.tasks import McqTask
from crosstrace.mcq.engine_questions import engine_drafts
from crosstrace.mcq.options import assemble


def engine_questions(n: int, seed: int) -> list[dict]:
    """The first n questions (by id) over engine challenges seed, seed + 1, ...; more challenges until there are n."""
    challenges = max(1, n // 4)  # a challenge yields four or five questions
    while True:
        drafts, _, _ = engine_drafts(challenges, seed, seed)
        pooled = [draft for split_drafts in drafts.values() for draft in split_drafts]
        if len(pooled) >= n:
            return assemble(pooled, seed, "bench")[:n]
        challenges *= 2


def load_prompts(args: argparse.Namespace) -> list[Prompt]:
    if args.data:
        return McqTask(args.data, config=args.config, split=args.split, scoring="loglik").prompts()[: args.n]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "engine_mcq.jsonl"
        path.write_text(
            "".join(json.dumps(record) + "\n" for record in engine_questions(args.n, args.seed)), encoding="utf-8"
        )
        return McqTask(str(path), scoring="loglik").prompts()


def score(
    backend: HFBackend, batches: list[list[LoglikRequest]], share_prompt: bool
) -> tuple[list[list[float]], float]:
    started = time.perf_counter()
    tables = [table for batch in batches for table in backend.loglikelihood(batch, share_prompt=share_prompt)]
    return tables, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model",
        default="builtin:smollm2-135m-instruct",
        help="model for --backend hf (a builtin: name, folder or Hub id)",
    )
    parser.add_argument("--n", type=int, default=8, help="questions scored by each path")
    parser.add_argument(
        "--batch-size", type=int, default=8, help="questions per scoring call, as evaluate.py --batch_size"
    )
    parser.add_argument(
        "--data", help="score these questions instead of engine ones: a .jsonl file or a built MCQ folder"
    )
    parser.add_argument("--config", help="config of a built folder given as --data (e.g. engine_facts)")
    parser.add_argument("--split", default="test", help="split of a built folder given as --data")
    parser.add_argument("--seed", type=int, default=0, help="first engine challenge seed and the question seed")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    backend = HFBackend(
        EvalArguments(model=args.model, device="cpu", tasks="mcq", mcq_scoring="loglik", batch_size=args.batch_size)
    )
    prompts = [replace(prompt, prompt_tokens=backend.count_tokens(prompt.messages)) for prompt in load_prompts(args)]
    ordered = batch_order(prompts)  # evaluate.py's batches: longest first
    requests = [(p.messages, list(p.continuations.values())) for p in ordered]
    batches = [requests[i : i + args.batch_size] for i in range(0, len(requests), args.batch_size)]
    tokens = [p.prompt_tokens for p in ordered]
    options = sum(len(continuations) for _, continuations in requests)
    print(
        f"{len(prompts)} questions ({options} options), prompts {min(tokens)}-{max(tokens)} tokens (mean {sum(tokens) / len(tokens):.0f}), model {args.model}"
    )
    print(
        f"batches of {args.batch_size} questions, {torch.get_num_threads()} torch threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    backend.loglikelihood(requests[:1])  # warm-up, untimed: first-call allocations and kernel selection
    per_option, per_option_s = score(backend, batches, share_prompt=False)
    shared, shared_s = score(backend, batches, share_prompt=True)

    difference = max(
        abs(a - b)
        for apart, together in zip(per_option, shared, strict=True)
        for a, b in zip(apart, together, strict=True)
    )
    agree = sum(
        apart.index(max(apart)) == together.index(max(together))
        for apart, together in zip(per_option, shared, strict=True)
    )
    print(f"\n{'path':<34} {'wall s':>8} {'s/question':>11}")
    print(f"{'one sequence per option':<34} {per_option_s:>8.1f} {per_option_s / len(prompts):>11.2f}")
    print(f"{'one sequence per question (shared)':<34} {shared_s:>8.1f} {shared_s / len(prompts):>11.2f}")
    print(f"\nspeed-up: {per_option_s / shared_s:.1f}x")
    print(f"max |difference| of option log-probs: {difference:.2e} (test tolerance 1e-4)")
    print(f"chosen letter agrees on {agree} of {len(prompts)} questions")
    return 0 if difference <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
