"""Time the CrossTrace dataset build, stage by stage (target: the whole build within 30 s wall on 2 cores).

    python bench/bench_crosstrace_build.py                                  # the release at ../shared/data/crosstrace
    python bench/bench_crosstrace_build.py --source <release folder> --repeat 2
    python bench/bench_crosstrace_build.py --compare-features               # also: accuracy and time per feature view

What it measures: one process imports the builder (timed), then runs `build()` `--repeat` times
into a temporary folder; each stage's wall time and this process's CPU time (all threads) come
from the builder's own StageTimer. The load average before and after is printed because on a
shared machine wall time mostly measures the neighbours: CPU time is the steadier figure, and
CPU time / cores is what the wall time would be on an idle machine. Repeats after the first
reuse the loaded embedding model, so they show the build without the model load. (Threads
waiting on a busy machine also burn CPU, so the CPU figure itself is high under load.)

`--compare-features` runs the domain inference with each feature view alone and together, on the
same records, and prints featurisation time and cross-validated accuracy (mean over `--cv-seeds`
fold seeds) side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()
START_CPU = time.process_time()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from crosstrace import paths  # noqa: E402
from crosstrace.builders.crosstrace_dataset import BuildOptions, StageTimer, build  # noqa: E402

IMPORT_WALL, IMPORT_CPU = time.perf_counter() - START, time.process_time() - START_CPU


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def run_builds(source: str, repeat: int) -> None:
    print(f"machine: {os.cpu_count()} CPUs; load average (1/5/15 min) before: {load()}")
    print(f"import of the builder: {IMPORT_WALL:.2f} s wall, {IMPORT_CPU:.2f} s CPU")
    for attempt in range(1, repeat + 1):
        timer = StageTimer()
        with tempfile.TemporaryDirectory() as scratch:
            start = time.perf_counter()
            manifest = build(BuildOptions(source, Path(scratch) / "crosstrace"), timer)
            total = time.perf_counter() - start
        print(f"\nbuild {attempt}: {manifest['counts']['all']} (+ hypogen {manifest['counts'].get('hypogen', {})})")
        print(f"{'stage':<18}{'wall s':>9}{'CPU s':>9}")
        for stage, seconds in timer.seconds.items():
            print(f"{stage:<18}{seconds:>9.2f}{timer.cpu_seconds[stage]:>9.2f}")
        cpu = sum(timer.cpu_seconds.values())
        first = IMPORT_WALL if attempt == 1 else 0.0
        print(f"{'total':<18}{total:>9.2f}{cpu:>9.2f}   (with the import: {total + first:.2f} s wall)")
        print(
            f"CPU / {os.cpu_count()} cores = {cpu / (os.cpu_count() or 1):.2f} s: an estimate of this build's wall time on an idle machine"
        )
    print(f"\nload average after: {load()}")


def compare_features(source: str, cv_seeds: int) -> None:
    from crosstrace.builders.crosstrace_dataset import read_sources
    from crosstrace.domains import (
        DOMAINS,
        RELEASE_DOMAIN_TOTALS,
        embedded_text,
        infer_domains,
        lsa_features,
        split_counts,
    )
    from crosstrace.embeddings import embed
    from crosstrace.errors import ErrorPolicy

    sources = read_sources(Path(source), ErrorPolicy(), seed=42)
    labelled = [item.record for item in sources.splits["test"] if item.record.domain in DOMAINS]
    unlabelled = {split: [item.record for item in sources.splits[split]] for split in ("train", "validation")}
    targets = split_counts(
        RELEASE_DOMAIN_TOTALS, sources.split_settings["train_pct"], sources.split_settings["val_pct"]
    )
    records = [*labelled, *unlabelled["train"], *unlabelled["validation"]]
    timed = {}
    for name, featurize in (("embedding", lambda rs: embed([embedded_text(r) for r in rs])), ("lsa", lsa_features)):
        start = time.perf_counter()
        timed[name] = (featurize(records), time.perf_counter() - start)
    import numpy as np

    views = {
        "embedding (core insight + hypothesis, 24 words)": (timed["embedding"][0], timed["embedding"][1]),
        "LSA-128 of the whole text": (timed["lsa"][0], timed["lsa"][1]),
        "both (the build's features)": (
            np.hstack([timed["embedding"][0], timed["lsa"][0]]),
            timed["embedding"][1] + timed["lsa"][1],
        ),
    }
    # 107 labelled records make one fold split noisy (a few points): average over fold seeds.
    print(f"\ncross-validated accuracy, mean over fold seeds 0..{cv_seeds - 1}")
    print(f"{'features':<50}{'featurise s':>12}{'CV acc':>8}{'CV acc, constrained':>21}")
    for name, (features, seconds) in views.items():
        runs = [
            infer_domains(
                labelled, unlabelled, targets, seed=seed, featurize=lambda _records, f=features: f
            ).cross_validation
            for seed in range(cv_seeds)
        ]
        accuracy = np.mean([cv.accuracy for cv in runs])
        constrained = np.mean([cv.accuracy_constrained for cv in runs])
        print(f"{name:<50}{seconds:>12.2f}{accuracy:>8.3f}{constrained:>21.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    release = paths.crosstrace_release_dir()
    parser.add_argument(
        "--source",
        default=str(release) if release else None,
        help="release folder (default: ../shared/data/crosstrace)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="builds in this process (default %(default)s)")
    parser.add_argument(
        "--compare-features", action="store_true", help="also compare the domain classifier's feature views"
    )
    parser.add_argument(
        "--cv-seeds", type=int, default=10, help="fold seeds averaged by --compare-features (default %(default)s)"
    )
    args = parser.parse_args()
    if not args.source:
        parser.error("no release folder found: pass --source or set CROSSTRACE_SHARED_DATA")
    run_builds(args.source, args.repeat)
    if args.compare_features:
        compare_features(args.source, args.cv_seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
