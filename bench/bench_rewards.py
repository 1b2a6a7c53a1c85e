"""Gaming audit of the verifiable rewards: what degenerate completions earn, next to the gold ones.

    python bench/bench_rewards.py                                 # fixtures + 30 engine documents
    python bench/bench_rewards.py --dacr-n 100 --mcq build/mcq --mcq-config engine_facts --crosstrace build/crosstrace
    python bench/bench_rewards.py --no-similarity                 # skip the MiniLM reward (no model load)

Rows are GRPO rows built by the training mixture (`crosstrace.training.mixture`, the reward
columns passed through), from:
- MCQ: WildSci-format records (default: tests/fixtures/train/mcq.jsonl), each question repeated
  over `--mcq-epochs` option reshuffles (`crosstrace.rewards.mcq.reshuffled_epochs`), so the
  gold letters are about uniform as in training;
- DACR: `--dacr-n` engine challenges (`generate_challenge(seed, domain)`, training domains in
  turn) as dacr-traces rows, plus the hand-written fixture;
- CrossTrace: chat rows (default: tests/fixtures/train/crosstrace_chat.jsonl).
Each strategy of `crosstrace.rewards.audit.STRATEGIES` makes one completion per row from the
prompt alone; the table gives each reward's mean over the rows it applies to (max 1.0).
`*` marks an exemption by definition (a constant letter earns chance; a reply in the answer JSON
format is well formed), `!` a failure: a degenerate strategy above 5% or gold below the maximum.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from crosstrace.engine import TRAIN_DOMAINS, generate_challenge
from crosstrace.engine.records import engine_row
from crosstrace.paths import REPO_ROOT
from crosstrace.rewards import REWARDS
from crosstrace.rewards.audit import audit, format_table
from crosstrace.rewards.mcq import reshuffled_epochs
from crosstrace.training.mixture import MixtureSource, build_mixture, load_source

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "train"


def source(label: str, path: Path, config: str | None) -> MixtureSource:
    if path.is_file():
        return MixtureSource(label=label, path="json", data_files=str(path))
    return MixtureSource(label=label, path=str(path), name=config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcq", type=Path, default=FIXTURES / "mcq.jsonl", help="MCQ jsonl file or built folder")
    parser.add_argument("--mcq-config", default=None, help="config of a built MCQ folder (e.g. engine_facts)")
    parser.add_argument("--mcq-epochs", type=int, default=50, help="option reshuffles per MCQ question (default 50)")
    parser.add_argument("--crosstrace", type=Path, default=FIXTURES / "crosstrace_chat.jsonl")
    parser.add_argument("--crosstrace-config", default="all")
    parser.add_argument("--dacr-n", type=int, default=30, help="engine challenges (default 30)")
    parser.add_argument("--no-similarity", action="store_true", help="leave out crosstrace_similarity (MiniLM)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from datasets import Dataset

    engine = [
        engine_row(generate_challenge(seed, TRAIN_DOMAINS[seed % len(TRAIN_DOMAINS)])) for seed in range(args.dacr_n)
    ]
    mcq = source("mcq", args.mcq, args.mcq_config)
    sources = [
        mcq,
        source("crosstrace", args.crosstrace, args.crosstrace_config if args.crosstrace.is_dir() else None),
        source("dacr-fixture", FIXTURES / "dacr_grpo.jsonl", None),
        MixtureSource(label="dacr-engine", path="engine"),
    ]

    def loader(s: MixtureSource, policy):
        if s.label == "dacr-engine":
            return Dataset.from_list(engine)
        if s.label == "mcq":
            return reshuffled_epochs(load_source(s, policy), args.mcq_epochs, seed=0)
        return load_source(s, policy)

    rows = list(build_mixture(sources, seed=0, loader=loader).dataset)
    rewards = [name for name in REWARDS if not (args.no_similarity and name == "crosstrace_similarity")]
    cells = audit(rows, rewards)
    counts = {label: sum(r["source"] == label for r in rows) for label in (s.label for s in sources)}
    print(f"rows: {counts} ({args.mcq_epochs} reshuffles per MCQ question)")
    print(format_table(cells))
    failures = [c for c in cells if not c.passes]
    print(f"{len(failures)} failure(s); {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
