"""The configuration of the base model an adapter is checked against, found without the Hub if need be.

Order: an explicit `--base-config` (a folder, a `builtin:` model, or a Hub id in the local cache),
then the adapter's own `base_model_name_or_path` resolved the same way, then the published
configuration of the release's base model written out below. The last one is what lets a dry
run check a Qwen2.5-7B adapter on a machine that has never downloaded Qwen2.5-7B.
"""

from __future__ import annotations

from transformers import AutoConfig, PretrainedConfig

from crosstrace.models import resolve_model_path

# Qwen/Qwen2.5-7B-Instruct's config.json as published on the Hub: the fields that decide the
# shapes of the linear layers LoRA wraps (q/o 3584x3584, k/v 512x3584, gate/up 18944x3584, down 3584x18944).
PUBLISHED_BASE_CONFIGS: dict[str, dict] = {
    "Qwen/Qwen2.5-7B-Instruct": {
        "model_type": "qwen2",
        "architectures": ["Qwen2ForCausalLM"],
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    }
}


class BaseConfigNotFound(LookupError):
    pass


def _from_local(name_or_path: str) -> PretrainedConfig | None:
    try:
        # local_files_only: a folder, a builtin model, or a Hub id already in the cache; never a download.
        return AutoConfig.from_pretrained(resolve_model_path(name_or_path), local_files_only=True)
    except (OSError, ValueError):
        return None


def find_base_config(
    base_model: str | None, override: str | None = None, override_origin: str = "--base-config"
) -> tuple[PretrainedConfig, str]:
    """(config, where it came from). Raises BaseConfigNotFound saying what to pass."""
    for candidate, origin in ((override, override_origin), (base_model, "the adapter's base_model_name_or_path")):
        if candidate:
            config = _from_local(candidate)
            if config is not None:
                return config, f"{candidate} ({origin}, read locally)"
    if base_model in PUBLISHED_BASE_CONFIGS:
        fields = dict(PUBLISHED_BASE_CONFIGS[base_model])
        config = AutoConfig.for_model(fields.pop("model_type"), **fields)
        return (
            config,
            f"{base_model} (its published config.json, as recorded in crosstrace/base_configs.py; not downloaded)",
        )
    raise BaseConfigNotFound(
        f"no configuration found for base model {base_model!r} on this machine: pass --base-config <folder with config.json, or builtin:...>"
    )
