"""How much of each batch is real tokens, and what packing saves in wall time.

    python bench/bench_batching.py                                   # CrossTrace release from ../shared
    python bench/bench_batching.py --dacr-traces build/dacr-traces   # and the engine traces, once built
    python bench/bench_batching.py --skip-timing                     # token shares only

1. Share of computed tokens that are real (not padding), with the real Qwen2.5 tokenizer, on
   CrossTrace train (and the engine traces when given):
     - upstream's Colab path: every row padded to 2,048 tokens;
     - dynamic padding: batches of 4 rows in random order, each padded to its longest row
       (TRL's default collator without packing);
     - our packing: TRL's best-fit-decreasing bins (`pack_dataset`, strategy bfd) of max_length
       tokens, counting each bin as max_length computed tokens, which is what a padded bin costs.
       With flash attention the recipe runs them padding-free, so the computed share is then
       100% by construction; the bin fill is the conservative figure.
2. CPU wall time of one epoch of recipes/smoke.yaml, packed against padded (the same rows padded
   to max_length, upstream-style), measured one after the other in this run: the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from crosstrace import paths
from crosstrace.tokenization import load_qwen25_tokenizer
from crosstrace.training.length import TOTAL_TOKENS, add_token_lengths
from crosstrace.training.mixture import MixtureSource, build_mixture

REPO = Path(__file__).resolve().parent.parent

UPSTREAM_PAD_TO = 2048
UPSTREAM_BATCH = 4  # upstream's per-device batch size


def padded_share(lengths: list[int], pad_to: int) -> float:
    return sum(min(n, pad_to) for n in lengths) / (len(lengths) * pad_to)


def dynamic_share(lengths: list[int], batch_size: int, seed: int = 0) -> float:
    order = lengths[:]
    random.Random(seed).shuffle(order)  # the sampler's random order, as in training
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return sum(sum(b) for b in batches) / sum(len(b) * max(b) for b in batches)


def packed_share(lengths: list[int], max_length: int) -> tuple[float, int]:
    """(real tokens / (bins x max_length), bins) with TRL's own bfd packer."""
    from datasets import Dataset
    from trl.data_utils import pack_dataset

    rows = Dataset.from_dict({"input_ids": [[1] * n for n in lengths]})
    packed = pack_dataset(rows, max_length, "bfd")
    real = sum(len(ids) for ids in packed["input_ids"])
    assert real == sum(
        min(n, max_length) for n in lengths
    )  # bfd moves rows into bins; it must not lose tokens of rows that fit
    return real / (len(packed) * max_length), len(packed)


def measure(source: MixtureSource, tokenizer) -> list[int]:
    return list(add_token_lengths(build_mixture([source], seed=0).dataset, tokenizer)[TOTAL_TOKENS])


def token_shares(label: str, lengths: list[int], pack_lengths: list[int]) -> None:
    print(
        f"\n{label}: {len(lengths):,} rows, {sum(lengths):,} tokens (mean {sum(lengths) / len(lengths):.0f}, max {max(lengths):,})"
    )
    over = sum(1 for n in lengths if n > UPSTREAM_PAD_TO)
    print(
        f"  upstream pad-to-{UPSTREAM_PAD_TO:,}:            {padded_share(lengths, UPSTREAM_PAD_TO):6.1%} real"
        + (f"  ({over} rows cut at 2,048)" if over else "")
    )
    print(f"  dynamic padding, batch {UPSTREAM_BATCH}:        {dynamic_share(lengths, UPSTREAM_BATCH):6.1%} real")
    for max_length in pack_lengths:
        if max(lengths) > max_length:
            print(f"  packing bfd, bins of {max_length:,}: rows up to {max(lengths):,} tokens do not fit; skipped")
            continue
        share, bins = packed_share(lengths, max_length)
        print(
            f"  packing bfd, bins of {max_length:,}:   {share:6.1%} real ({bins:,} bins; padding-free computes 100%)"
        )


def timed_epoch(extra: list[str]) -> float:
    """Seconds of `train_runtime` for one epoch of the smoke recipe, in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "train.py",
            "--config",
            "recipes/smoke.yaml",
            "--output_dir",
            out,
            "--save_strategy",
            "no",
            *extra,
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True, text=True)
        return json.loads((Path(out) / "train_results.json").read_text())["train_runtime"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--crosstrace",
        help="CrossTrace train: a built folder (config all) or the released train_ours_only.jsonl (default: ../shared)",
    )
    parser.add_argument(
        "--dacr-traces", help="a built engine-traces folder (python -m crosstrace.builders dacr-traces ...)"
    )
    parser.add_argument(
        "--pack-lengths", type=int, nargs="+", default=[2048, 8192], help="bin sizes to report for packing"
    )
    parser.add_argument("--skip-timing", action="store_true", help="only the token shares")
    args = parser.parse_args(argv)

    tokenizer = load_qwen25_tokenizer()
    measured: dict[str, list[int]] = {}
    crosstrace = args.crosstrace or (
        str(paths.crosstrace_release_dir() / "train_ours_only.jsonl") if paths.crosstrace_release_dir() else None
    )
    if crosstrace is None:
        print("CrossTrace: not found (pass --crosstrace or provide ../shared/data)")
    else:
        if crosstrace.endswith(".jsonl"):
            source = MixtureSource(label="crosstrace", path="json", data_files=crosstrace)
        else:
            source = MixtureSource(label="crosstrace", path=crosstrace, name="all")
        measured["crosstrace"] = measure(source, tokenizer)
        token_shares("CrossTrace train", measured["crosstrace"], args.pack_lengths)
    if args.dacr_traces:
        measured["engine"] = measure(MixtureSource(label="dacr-traces", path=args.dacr_traces), tokenizer)
        token_shares("Engine traces train", measured["engine"], args.pack_lengths)
        if "crosstrace" in measured:
            # as recipes/qwen2.5-7b-qlora.yaml mixes them: CrossTrace twice, the engine traces once;
            # the short CrossTrace rows fill the space the long traces leave in each bin
            token_shares(
                "Release mixture (CrossTrace x2 + engine traces)",
                measured["crosstrace"] * 2 + measured["engine"],
                args.pack_lengths,
            )
    else:
        print(
            "\nEngine traces: not measured (build them with `python -m crosstrace.builders dacr-traces ...` and pass --dacr-traces)"
        )

    if not args.skip_timing:
        print("\nOne epoch of recipes/smoke.yaml on this CPU (train_runtime, fresh process each):")
        packed = timed_epoch([])
        # the same rows, unpacked, each padded to max_length as upstream padded to 2,048
        padded = timed_epoch(["--packing", "false", "--padding_free", "false", "--pad_to_multiple_of", "512"])
        print(f"  packed (bfd bins of 512):          {packed:7.1f} s")
        print(f"  padded (each row to 512 tokens):   {padded:7.1f} s")
        print(f"  padded / packed:                   {padded / packed:7.2f}x")
        print(
            f"  (load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; shared machines make single timings noisy)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
