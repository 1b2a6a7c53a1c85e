"""Blind-baseline audit and build time of the ten-option question dataset (crosstrace-mcq).

    python -m crosstrace.builders crosstrace --source ../shared/data/crosstrace --out build/crosstrace
    python bench/bench_mcq.py --crosstrace build/crosstrace --out build/mcq
    python bench/bench_mcq.py --folder build/mcq                  # audit a folder already built
    python bench/bench_mcq.py --folder build/mcq --embedding-sample 300   # quicker, sampled
    python bench/bench_mcq.py --folder build/mcq --save-audit build/mcq-audit.json
    python -m crosstrace.builders mcq --crosstrace build/crosstrace --out build/mcq --audit-results build/mcq-audit.json
                                   # the same questions, with the full audit in the card

What it measures, and how:

1. Build time: `python -m crosstrace.builders mcq` with its defaults (all configs: CrossTrace
   questions, 200 engine challenges, WildSci when --wildsci is given), run in this process;
   wall-clock seconds, this process's CPU seconds (all threads), and the machine's load average
   when it started (a shared machine stretches wall time, not CPU time).
2. Blind baselines on every question of every config, read back from the written parquet
   files: longest option, most content words shared with the question, embedding closest to the
   question (mean of its lines' all-MiniLM-L6-v2 embeddings), option closest to the other nine
   (never reads the question). Accuracy with ties shared; chance 10%, target <= 30%.
3. The two ablations behind the hypothesis-matching design, each against the released form:
   a. the same questions and options with the question cut down to the asked study's own
      context, as a one-study question would be (all baselines);
   b. nine distractors taken as the nearest hypotheses to each answer (same split and field,
      near-duplicates skipped) instead of groups asked about in turn: the central-option
      baseline, which never reads the question (needs --crosstrace).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from crosstrace.builders import mcq_dataset
from crosstrace.errors import ErrorPolicy
from crosstrace.mcq import audit
from crosstrace.mcq.crosstrace_questions import HYPOTHESIS_MATCHING, NEAR_DUPLICATE_THRESHOLD
from crosstrace.mcq.crosstrace_rows import read_crosstrace_folder

REPO = Path(__file__).resolve().parent.parent


def read_folder(folder: Path) -> dict[str, list[dict]]:
    """config -> every record of the config (all splits), as written."""
    configs: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*/*.parquet")):
        configs.setdefault(path.parent.name, []).extend(pq.read_table(path).to_pylist())
    return configs


def timed_build(args: argparse.Namespace) -> dict[str, float]:
    options = mcq_dataset.McqArguments(crosstrace=args.crosstrace, out=args.out, wildsci=args.wildsci)
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    mcq_dataset.build(options)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "load_1min": load}


_ASKED = re.compile(r"did Study (\d+) propose\?\s*$")


def single_study(record: dict) -> dict:
    """The ablation: a hypothesis-matching question cut down to the asked study's own context."""
    number = int(_ASKED.search(record["question"]).group(1))
    block = next(b for b in record["question"].split("\n\n") if b.startswith(f"Study {number}\n"))
    context = block.split("\n", 1)[1]
    return {**record, "question": f"{context}\n\nWhich of the following hypotheses did this study propose?"}


def nearest_to_answer_central(crosstrace: Path, embed) -> tuple[float, int]:
    """Central-option accuracy if each answer's distractors were its nine nearest hypotheses."""
    hits, n = 0, 0
    for rows in read_crosstrace_folder(crosstrace, ErrorPolicy("skip")).values():
        vectors = embed([row["hypothesis"] for row in rows])
        similarity = vectors @ vectors.T
        domains = np.array([row["domain"] for row in rows])
        for i in range(len(rows)):
            eligible = (domains == domains[i]) & (similarity[i] <= NEAR_DUPLICATE_THRESHOLD)
            eligible[i] = False
            pool = np.flatnonzero(eligible)
            if len(pool) < 9:
                continue
            options = [i, *pool[np.argsort(-similarity[i, pool], kind="stable")[:9]]]
            between = similarity[np.ix_(options, options)].copy()
            np.fill_diagonal(between, 0.0)
            hits += int(np.argmax(between.sum(axis=1)) == 0)
            n += 1
    return hits / n, n


def by_source_total(by_source: dict[str, audit.BaselineResult]) -> audit.BaselineResult:
    """The released hypothesis-matching questions' results, weighted over their sources."""
    parts = [result for source, result in by_source.items() if source.endswith(HYPOTHESIS_MATCHING)]
    total = audit.BaselineResult()
    for name in audit.BASELINES:
        n = sum(part.n.get(name, 0) for part in parts)
        if n:
            total.accuracy[name] = sum(part.accuracy[name] * part.n[name] for part in parts if name in part.n) / n
            total.n[name] = n
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--crosstrace", type=Path, default=REPO / "build" / "crosstrace", help="built CrossTrace dataset folder"
    )
    parser.add_argument("--wildsci", type=Path, help="WildSci jsonl, to build and audit the wildsci config too")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "mcq", help="where the timed build writes")
    parser.add_argument("--folder", type=Path, help="audit this folder instead of building one (no build time)")
    parser.add_argument(
        "--embedding-sample", type=int, default=-1, help="questions per config for the embedding baselines (-1: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the embedding sample")
    parser.add_argument(
        "--save-audit", type=Path, help="save the audit (JSON) for `python -m crosstrace.builders mcq --audit-results`"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    folder = args.folder
    if folder is None:
        timing = timed_build(args)
        folder = args.out
        print(
            f"build (all configs, defaults): {timing['wall_s']:.1f} s wall, {timing['cpu_s']:.1f} s CPU "
            f"(load average {timing['load_1min']:.1f} on {os.cpu_count()} cores when it started)"
        )

    from crosstrace.embeddings import embed

    sample = None if args.embedding_sample < 0 else args.embedding_sample
    configs = read_folder(folder)
    started = time.perf_counter()
    report = audit.audit_configs(configs, embed, sample, args.seed)
    by_config, by_source = report.by_config, report.by_source
    if args.save_audit:
        report.save(args.save_audit)
    print(f"\nblind baselines ({time.perf_counter() - started:.0f} s), chance 10%, target <= {audit.TARGET:.0%}\n")
    print(audit.audit_table(by_config))
    print()
    print(audit.audit_table(by_source, title="generator"))

    matching = [
        single_study(r) for records in configs.values() for r in records if r["source"].endswith(HYPOTHESIS_MATCHING)
    ]
    if matching:
        ablation, _ = audit.audit_baselines(matching, embed, sample, args.seed)
        print("\nablation a: hypothesis matching with only the asked study's context in the question\n")
        print(
            audit.audit_table(
                {"one study shown": ablation, "ten studies shown (released)": by_source_total(by_source)},
                title="question",
            )
        )
    if args.crosstrace.is_dir():
        accuracy, n = nearest_to_answer_central(args.crosstrace, embed)
        released = by_source_total(by_source).accuracy.get("central_option")
        print(f"\nablation b: central option, distractors nearest to each answer: {accuracy:.1%} (n={n})", end="")
        print(f"; groups asked about in turn (released): {released:.1%}" if released is not None else "")

    for config, records in configs.items():
        balance = audit.letter_balance(records)
        print(f"\nletters {config}: {balance.counts}, chi-square {balance.chi_square:.2f}, p = {balance.p_value:.3f}")
    # The target is for the questions we generate; WildSci's own are reported as they are.
    failing = [
        name for name, result in by_config.items() if name != mcq_dataset.WILDSCI_CONFIG and not result.passes()
    ]
    print("\nall generated configs within target" if not failing else f"\nABOVE TARGET: {failing}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
