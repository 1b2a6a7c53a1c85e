"""Inputs for the publishing tests, built on the spot: a dataset folder, a tiny adapter, results.

Everything is made up for the tests (the science in the records included) and small enough to
build in a second or two on a CPU.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from crosstrace.cards import shared_pieces
from crosstrace.cards.decontamination import block as decontamination_block
from crosstrace.hub_folder import DatasetFolder

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "publish"
RESULTS_FIXTURE = FIXTURES / "dacr_results"

CROSSTRACE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("domain", pa.string()),
        ("domain_source", pa.string()),
        ("domain_confidence", pa.float64()),
        ("paper_id", pa.string()),
        ("patterns", pa.list_(pa.string())),
        ("extraction_confidence", pa.float64()),
        ("explicitness", pa.float64()),
        ("field_context", pa.string()),
        ("conventional_assumption", pa.string()),
        ("key_prior_work", pa.list_(pa.string())),
        ("spark", pa.string()),
        ("steps", pa.list_(pa.string())),
        ("grounding", pa.list_(pa.string())),
        ("hypothesis", pa.string()),
        ("approach", pa.string()),
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ]
)

_TOPICS = [
    (
        "biomedical",
        "Gut microbes modulate drug metabolism.",
        "Hepatic enzymes alone set oral drug clearance.",
        "Bacterial reductases inactivate digoxin",
    ),
    (
        "biomedical",
        "Circadian timing affects vaccine response.",
        "Time of day is irrelevant to immunisation.",
        "Morning doses raised antibody titres in a cohort",
    ),
    (
        "ai_ml",
        "Sparse attention patterns emerge in small models.",
        "Dense attention is needed for long contexts.",
        "Block-sparse kernels match dense quality",
    ),
]


def _record(index: int, domain: str, context: str, assumption: str, prior: str) -> dict:
    user = f"Field context: {context}\n\nConventional assumption: {assumption}\n\nKey prior work: {prior}"
    assistant = (
        "Core insight: revisit the assumed bottleneck\n\nReasoning:\n1. The prior work shows an exception to the assumption.\n"
        "2. The exception points to a mechanism worth testing.\n3. A controlled comparison can isolate it.\n\n"
        "Hypothesis: The overlooked mechanism explains part of the variance.\n\nApproach: Compare matched groups with and without it."
    )
    return {
        "id": f"fixture-{index:04d}",
        "source": "fixture",
        "domain": domain,
        "domain_source": "released",
        "domain_confidence": 1.0,
        "paper_id": f"arxiv:0000.{index:05d}",
        "patterns": ["gap_fill"],
        "extraction_confidence": 0.8,
        "explicitness": 0.7,
        "field_context": context,
        "conventional_assumption": assumption,
        "key_prior_work": [prior],
        "spark": "revisit the assumed bottleneck",
        "steps": ["The prior work shows an exception.", "It points to a mechanism.", "A comparison can isolate it."],
        "grounding": [],
        "hypothesis": "The overlooked mechanism explains part of the variance.",
        "approach": "Compare matched groups with and without it.",
        "messages": [
            {"role": "system", "content": "You are a careful scientist. Reason step by step from the context."},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ],
    }


CARD_TEMPLATE = """---
{{ card_data }}
---

# Fixture CrossTrace folder

A tiny folder written by the publishing tests: `load_dataset("<org>/crosstrace", "all")`.

{{ release_family }}

## Decontamination

{{ decontamination }}

## Sources

{{ sources_attribution }}

## Citation

{{ citations }}
"""


def write_dataset_folder(out: Path) -> Path:
    """A CrossTrace-shaped folder (configs all/biomedical, splits train/test) through DatasetFolder."""
    rows = [_record(i, *topic) for i, topic in enumerate(_TOPICS)]
    folder = DatasetFolder(CROSSTRACE_SCHEMA)
    folder.add_split("all", "train", rows[:2])
    folder.add_split("all", "test", rows[2:])
    folder.add_split("biomedical", "train", [r for r in rows if r["domain"] == "biomedical"])
    manifest = folder.manifest(name="crosstrace", extra={"seed": 42})
    card_data = DatasetCardData(
        license="cc-by-4.0", language=["en"], pretty_name="fixture", configs=folder.configs_metadata(default="all")
    )
    card = DatasetCard.from_template(
        card_data, template_str=CARD_TEMPLATE, decontamination=decontamination_block(None), **shared_pieces()
    )
    folder.write(out, manifest, card)
    return out


def tiny_qwen2_config(hidden_size: int = 64, vocab_size: int = 128):
    from transformers import Qwen2Config

    return Qwen2Config(
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=vocab_size,
        max_position_embeddings=128,
    )


def write_training_output(out: Path, base_dir: Path, hidden_size: int = 64) -> Path:
    """What train.py leaves in output_dir, for a tiny random Qwen2: adapter, recipe, metadata, and
    the things that must not be published (a checkpoint with optimizer state, pickled arguments)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    config = tiny_qwen2_config(hidden_size)
    config.save_pretrained(base_dir)
    model = AutoModelForCausalLM.from_config(config)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM")
    )
    peft_model.save_pretrained(out)
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    adapter_config["base_model_name_or_path"] = str(base_dir)  # as train.py records a local base
    (out / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2))
    recipe = {
        "model_name_or_path": str(base_dir),
        "lora_r": 4,
        "mixture": [
            {"label": "crosstrace", "path": "build/crosstrace", "name": "all", "split": "train", "weight": 1.0}
        ],
        "output_dir": str(out),
    }
    (out / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    metadata = {
        "schema_version": 1,
        "libraries": {"crosstrace": "0.1.0", "peft": "0.21.2", "transformers": "5.23.0"},
        "git": {"commit": "0123abc", "dirty": False},
        "datasets": [
            {
                "label": "crosstrace",
                "path": "build/crosstrace",
                "name": "all",
                "split": "train",
                "layout": "messages",
                "available": 2,
                "used": 2,
                "fingerprint": "f00d",
            }
        ],
        "token_lengths": [
            {
                "source": "crosstrace",
                "rows": 2,
                "tokens": 300,
                "mean": 150.0,
                "p50": 150,
                "p95": 160,
                "max": 160,
                "over": 0,
            }
        ],
    }
    (out / "run_metadata.json").write_text(json.dumps(metadata, indent=2))
    (out / "train_results.json").write_text(json.dumps({"train_loss": 2.5, "train_runtime": 3.2, "epoch": 1.0}))
    (out / "checkpoint-2").mkdir()
    (out / "checkpoint-2" / "optimizer.pt").write_bytes(b"not really an optimizer")
    (out / "training_args.bin").write_bytes(b"not really a pickle")
    return out


def copy_results(out: Path) -> Path:
    shutil.copytree(RESULTS_FIXTURE, out)
    return out
