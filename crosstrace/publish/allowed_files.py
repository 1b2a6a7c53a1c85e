"""What each kind of repository publishes: an allow-list, so that nothing else is ever staged or pushed.

    dataset   a built dataset folder: .parquet data (.jsonl where a dataset uses it), manifest.json,
              decontamination.json and other .json reports, README.md and other .md, .png figures
    results   what the results dataset writes: .parquet, .json (manifest, each run's results.json),
              .md (card, each run's report.md), .png (plots and learning curves)
    adapter   adapter_config.json, adapter_model.safetensors, the tokenizer files, the training facts
              (recipe.yaml, run_metadata.json, train_results.json), README.md (the card) and .png plots

Every kind listed is one the checks read entirely (crosstrace/publish/scan.py). Hidden files and
folders (`.env`, `.git/`, `.secrets.json`) are never published, whatever their suffix; nor is a
file without a suffix (`id_rsa`, `deploy_key`) unless it is named above.

A few leftovers of tools are skipped and counted rather than refused when they sit in a dataset
folder: caches and unfinished build files, which hold nothing of the release (`SKIPPED`).
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePath

from crosstrace.publish.training_facts import ADAPTER_CONFIG, RECIPE, RUN_METADATA, TRAIN_RESULTS

ADAPTER_WEIGHTS = "adapter_model.safetensors"
# Tokenizer files `save_pretrained` writes; published so the adapter repository loads on its own.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
)
ADAPTER_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS, RECIPE, RUN_METADATA, TRAIN_RESULTS, "README.md", *TOKENIZER_FILES)

_SUFFIXES = {
    "dataset": (".parquet", ".jsonl", ".json", ".md", ".png"),
    "results": (".parquet", ".json", ".md", ".png"),
    "adapter": (".png",),
}
_WHAT = {
    "dataset": "it publishes .parquet, .jsonl, .json, .md and .png files",
    "results": "it publishes .parquet, .json, .md and .png files",
    "adapter": f"it publishes {', '.join(ADAPTER_FILES)} and .png plots",
}
# name pattern -> why a dataset folder may hold it without being refused (it is skipped and counted)
SKIPPED = {
    "*.partial": "an unfinished build file",
    "__pycache__": "a Python cache",
    ".cache": "a tool cache (e.g. `hf download --local-dir` metadata)",
    ".DS_Store": "desktop metadata",
}


def skipped_reason(name: str) -> str | None:
    return next((why for pattern, why in SKIPPED.items() if fnmatch.fnmatch(name, pattern)), None)


def refusal(kind: str, relative: PurePath) -> str | None:
    """Why a repository of `kind` never publishes the file (or folder) at `relative`, or None when it may."""
    label = "a model" if kind == "adapter" else f"a {kind}"
    if any(part.startswith(".") for part in relative.parts):
        return f"not a file {label} repository publishes (hidden files and folders are never published)"
    if kind == "adapter" and len(relative.parts) == 1 and relative.name in ADAPTER_FILES:
        return None
    if relative.suffix in _SUFFIXES[kind]:
        return None
    return f"not a file {label} repository publishes ({_WHAT[kind]})"
