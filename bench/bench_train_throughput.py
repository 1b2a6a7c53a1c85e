"""Training throughput of the release recipe's shape: tokens/s, peak GPU memory, time per update.

    python bench/bench_train_throughput.py                 # one CUDA GPU: Qwen2.5-7B shape, random weights
    python bench/bench_train_throughput.py --tiny          # CPU, the tiny CI model: the same code path in seconds
    python bench/bench_train_throughput.py --write-lengths --build build   # refresh bench/data/release_lengths.json

Each variant runs `train.py`'s own `main` (mixture, length report, SFTTrainer, quantization) for a
few optimizer steps on packed, padding-free rows whose token lengths are drawn from the release
mixture's measured lengths (bench/data/release_lengths.json: the built folders do not travel to
a GPU machine). Variants: QLoRA 4-bit NF4 vs bf16 LoRA, sdpa vs flash_attention_2 (when flash_attn
imports), Liger kernels on/off (when liger_kernel imports), activation checkpointing on. The model is
Qwen2.5-7B-Instruct's published configuration with random weights, written to disk once and loaded
from there (from_pretrained cannot quantize an in-memory model). Results go to stdout and to JSON
(`--out`, default bench/results/<gpu>.json): the report `train.py --estimate` reads.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LENGTHS = REPO / "bench" / "data" / "release_lengths.json"
RELEASE_RECIPE = REPO / "recipes" / "qwen2.5-7b-qlora.yaml"
RELEASE_MODEL = "Qwen/Qwen2.5-7B-Instruct"
TEMPLATE_TOKENS = 40  # Qwen2.5's chat template around one user and one assistant turn, default system prompt included


def load_train():
    """train.py as a module, loaded once per process: a second copy would make its config class unpicklable."""
    if "train_script" not in sys.modules:
        spec = importlib.util.spec_from_file_location("train_script", REPO / "train.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["train_script"]


def write_lengths(build: Path, sample: int = 400, seed: int = 0) -> dict:
    """Token lengths (real Qwen2.5 tokenizer) of each release mixture source, from folders built under `build`."""
    import yaml

    from crosstrace.tokenization import load_qwen25_tokenizer
    from crosstrace.training.length import TOTAL_TOKENS, add_token_lengths
    from crosstrace.training.mixture import build_mixture, parse_sources

    recipe = yaml.safe_load(RELEASE_RECIPE.read_text())
    tokenizer = load_qwen25_tokenizer()
    sources = {}
    for entry in recipe["mixture"]:
        entry = {**entry, "path": str(build / Path(entry["path"]).name)}
        rows = add_token_lengths(build_mixture(parse_sources([entry]), seed=seed).dataset, tokenizer)
        lengths = rows[TOTAL_TOKENS]
        sources[entry["label"]] = {
            "rows": len(lengths),
            "lengths": random.Random(seed).sample(lengths, min(sample, len(lengths))),
        }
    result = {"tokenizer": "Qwen2.5 (builtin:qwen2.5)", "recipe": RELEASE_RECIPE.name, "sources": sources}
    LENGTHS.write_text(json.dumps(result, indent=1) + "\n")
    return result


def synthetic_rows(path: Path, tokens: int, max_length: int, seed: int = 0) -> int:
    """Prompt/completion rows with lengths drawn from the release mixture (by source row counts), `tokens` in all."""
    sources = json.loads(LENGTHS.read_text())["sources"]
    pool = [n for s in sources.values() for n in random.Random(seed).choices(s["lengths"], k=s["rows"])]
    rng, total, rows = random.Random(seed), 0, []
    while total < tokens:
        n = min(rng.choice(pool), max_length) - TEMPLATE_TOKENS
        completion = max(n // 10, 1)
        text = lambda k: " x" * k  # noqa: E731 - one Qwen2.5 token per " x"
        rows.append(
            {
                "prompt": [{"role": "user", "content": text(n - completion)}],
                "completion": [{"role": "assistant", "content": text(completion)}],
            }
        )
        total += n + TEMPLATE_TOKENS
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return len(rows)


def random_release_checkpoint(folder: Path) -> str:
    """Qwen2.5-7B-Instruct's shape with random bf16 weights, saved once to `folder`."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    try:
        from crosstrace.base_configs import PUBLISHED_BASE_CONFIGS
    except ImportError:  # before the move of issue #10
        from crosstrace.publish.base_configs import PUBLISHED_BASE_CONFIGS

    if not (folder / "config.json").is_file():
        fields = {
            k: v for k, v in PUBLISHED_BASE_CONFIGS[RELEASE_MODEL].items() if k not in ("model_type", "architectures")
        }
        torch.manual_seed(0)
        with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
            model = Qwen2ForCausalLM(Qwen2Config(**fields)).to(torch.bfloat16)
        model.save_pretrained(folder)
        del model
    return str(folder)


def variants(tiny: bool) -> list[dict]:
    from crosstrace.training.attention import flash_attn_available

    if tiny:
        return [{"name": "lora-fp32-sdpa", "quantization": "float32", "attn": "sdpa", "liger": False}]
    attns = ["sdpa", *(["flash_attention_2"] if flash_attn_available() else [])]
    quants = ["nf4-double", "bfloat16"] if importlib.util.find_spec("bitsandbytes") else ["bfloat16"]
    found = [
        {
            "name": f"{'qlora' if q.startswith('nf4') else 'lora-bf16'}-{a}",
            "quantization": q,
            "attn": a,
            "liger": False,
        }
        for q in quants
        for a in attns
    ]
    if importlib.util.find_spec("liger_kernel"):
        found += [{**v, "name": v["name"] + "-liger", "liger": True} for v in found if v["attn"] == "sdpa"]
    return found


def run_variant(train, variant: dict, model: str, data: Path, work: Path, args) -> dict:
    import torch
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        def __init__(self):
            self.ends, self.tokens = [], []

        def on_step_end(self, targs, state, control, **kwargs):
            self.ends.append(time.perf_counter())

        def on_log(self, targs, state, control, logs=None, **kwargs):
            if logs and "num_tokens" in logs:
                self.tokens.append(logs["num_tokens"])

    import yaml

    recipe = yaml.safe_load((REPO / "recipes" / ("smoke.yaml" if args.tiny else RELEASE_RECIPE.name)).read_text())
    recipe["mixture"] = [{"label": "synthetic", "path": "json", "data_files": str(data), "split": "train"}]
    recipe.pop("eval_mixture", None)
    config = work / f"{variant['name']}.yaml"
    config.write_text(yaml.safe_dump(recipe))
    argv = ["--config", str(config), "--model_name_or_path", model]
    argv += ["--eval_strategy", "no", "--save_strategy", "no", "--logging_steps", "1", "--max_steps", str(args.steps)]
    argv += [
        "--output_dir",
        str(work / variant["name"]),
        "--attn_implementation",
        variant["attn"],
        "--report_to",
        "none",
    ]
    argv += [
        "--max_length",
        str(args.max_length),
        "--activation_checkpointing",
        "true",
        "--dataloader_num_workers",
        "0",
    ]
    argv += ["--use_liger_kernel", str(variant["liger"]).lower()]
    if not args.tiny:
        argv += [
            "--tokenizer_name_or_path",
            "builtin:qwen2.5",
            "--load_in_4bit",
            str(variant["quantization"].startswith("nf4")).lower(),
        ]
    script_args, training_args, model_args = train.make_parser().parse_args_and_config(argv)
    timer = Timer()
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    assert train.main(script_args, training_args, model_args, callbacks=[timer]) == 0
    # the first update pays for allocation and kernel selection: measure from its end
    seconds = timer.ends[-1] - timer.ends[0]
    tokens = timer.tokens[-1] - timer.tokens[0]
    from crosstrace.training.estimate import recipe_key

    return {
        **recipe_key(model_args, training_args),
        "model": RELEASE_MODEL if not args.tiny else "builtin:tiny-qwen2",
        "variant": variant["name"],
        "use_liger_kernel": variant["liger"],
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "updates_timed": len(timer.ends) - 1,
        "tokens_per_second": round(tokens / seconds, 1),
        "seconds_per_update": round(seconds / (len(timer.ends) - 1), 3),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="CPU, the tiny CI model, short rows")
    parser.add_argument(
        "--steps", type=int, default=None, help="optimizer steps per variant (default 4; 3 with --tiny)"
    )
    parser.add_argument(
        "--max_length", type=int, default=None, help="bin size (default: the recipe's 8,192; 512 with --tiny)"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default bench/results/<gpu>.json)")
    parser.add_argument(
        "--checkpoint", type=Path, default=Path(tempfile.gettempdir()) / "crosstrace-qwen2.5-7b-random"
    )
    parser.add_argument("--write-lengths", action="store_true", help="measure the lengths file from built folders")
    parser.add_argument(
        "--build", type=Path, default=REPO / "build", help="folder holding crosstrace/, dacr-traces/, mcq/"
    )
    args = parser.parse_args(argv)
    if args.write_lengths:
        print(json.dumps({k: v["rows"] for k, v in write_lengths(args.build)["sources"].items()}))
        return 0
    import torch

    args.steps = args.steps or (3 if args.tiny else 4)
    args.max_length = args.max_length or (512 if args.tiny else 8192)
    if not args.tiny and not torch.cuda.is_available():
        parser.error("the release shape needs a CUDA GPU; use --tiny on a CPU")
    train = load_train()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "rows.jsonl"
        accumulation = 1 if args.tiny else 8
        synthetic_rows(data, tokens=args.max_length * accumulation * (args.steps + 1), max_length=args.max_length)
        model = "builtin:tiny-qwen2" if args.tiny else random_release_checkpoint(args.checkpoint)
        results = []
        for variant in variants(args.tiny):
            results.append(run_variant(train, variant, model, data, work, args))
            print(json.dumps(results[-1]), flush=True)
    import transformers

    report = {
        "machine": {
            "gpu": gpu or f"CPU ({platform.processor() or platform.machine()})",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "cuda": torch.version.cuda,
        },
        "command": " ".join(
            ["python", "bench/bench_train_throughput.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "results": results,
    }
    out = args.out or REPO / "bench" / "results" / f"{(gpu or 'cpu').replace(' ', '_')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
