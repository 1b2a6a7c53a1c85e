"""Stage exactly the folder trees that would be pushed, one folder per Hub repository.

    <stage>/datasets/<name>/     a built dataset folder, as `python -m crosstrace.builders` wrote it
    <stage>/models/<name>/       the adapter: weights, config, tokenizer, model card, training facts
    <stage>/datasets/<results>/  dacr_results/ as a dataset (crosstrace/publish/results_dataset.py)

What a stage holds is what `push` uploads, file for file; nothing is added or filtered at push
time. Staging says what it did: every file of a source folder it left out (and why) and every
local path it replaced goes into the stage's notes, which `upload.py` prints.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import read_json_object
from crosstrace.publish.model_card import build_model_card, card_text, write_card
from crosstrace.publish.repos import DATASET_REPOS, ORG_PLACEHOLDER, ReleaseRepos
from crosstrace.publish.results_dataset import build_results_dataset
from crosstrace.publish.training_facts import ADAPTER_CONFIG, TrainingFacts
from crosstrace.results_schema import load_runs
from crosstrace.sanitize import strip_local_paths_in_text

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
# Text files whose local paths staging rewrites (the checks refuse any that remain, anywhere).
TEXT_SUFFIXES = (".md", ".json", ".jsonl", ".yaml", ".yml", ".txt", ".jinja")
# Vocabulary files: their tokens include strings like "/home" and "/tmp" that are text, not
# paths, and rewriting one would break the tokenizer. Staging leaves them byte for byte.
VOCABULARY_FILES = ("tokenizer.json", "vocab.json", "merges.txt")


@dataclass
class StagedRepo:
    """One repository's staged folder and what staging had to say about it."""

    kind: str  # "dataset" | "adapter" | "results"
    repo_id: str
    repo_type: str  # "dataset" | "model": the Hub's repository types
    folder: Path
    notes: list[str] = field(default_factory=list)
    # Problems that stop this repository before any check can run (a missing source folder).
    problems: list[str] = field(default_factory=list)
    # For the adapter's checks: where to find the base model's configuration, and who said so.
    base_config: str | None = None
    base_config_origin: str = "--base-config"

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file()) if self.folder.is_dir() else []


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _strip_text_files(folder: Path) -> int:
    """Rewrite local paths in the stage's text files; returns how many were replaced."""
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.name not in VOCABULARY_FILES:
            text = path.read_text(encoding="utf-8", errors="strict")
            clean, n = strip_local_paths_in_text(text)
            if n:
                path.write_text(clean, encoding="utf-8")
                total += n
    return total


def stage_datasets(datasets_dir: Path, keys: list[str], repos: ReleaseRepos, stage_root: Path) -> list[StagedRepo]:
    staged = []
    for key in keys:
        name = DATASET_REPOS[key]
        repo = StagedRepo("dataset", repos.dataset(key), "dataset", stage_root / "datasets" / name)
        source = datasets_dir / key
        if not (source / "README.md").is_file():
            repo.problems.append(
                f"{source} is not a built dataset folder: build it with `python -m crosstrace.builders {key} --out {source}`"
            )
            staged.append(repo)
            continue
        if repo.folder.exists():
            shutil.rmtree(repo.folder)
        repo.folder.parent.mkdir(parents=True, exist_ok=True)
        # The built folder as it is: the builders write exactly the hub layout (hub_folder.py).
        shutil.copytree(source, repo.folder, ignore=shutil.ignore_patterns("*.partial", "__pycache__", ".cache"))
        replaced = _strip_text_files(repo.folder)
        repo.notes.append(
            f"copied from {source}" + (f"; {replaced} local path(s) replaced in its text files" if replaced else "")
        )
        card = repo.folder / "README.md"
        text = card.read_text(encoding="utf-8")
        if ORG_PLACEHOLDER in text:
            card.write_text(text.replace(ORG_PLACEHOLDER, f"{repos.hub_org}/"), encoding="utf-8")
            repo.notes.append(
                f"README.md: {text.count(ORG_PLACEHOLDER)} Hub id(s) written as `{ORG_PLACEHOLDER}...` now name {repos.hub_org}/"
            )
        staged.append(repo)
    return staged


def _reason_left_out(path: Path) -> str:
    if path.name.startswith("checkpoint-"):
        return "checkpoint folder (optimizer and scheduler state, for resuming only)"
    if path.name == "training_args.bin":
        return "pickled training arguments (the resolved recipe.yaml says the same, readably)"
    if path.name == "trainer_state.json":
        return "trainer state (log history; the training results are published as train_results.json)"
    if path.name == "README.md":
        return "replaced by the rendered model card"
    return "not part of an adapter release"


def stage_adapter(
    adapter_dir: Path,
    repos: ReleaseRepos,
    stage_root: Path,
    results_dir: Path,
    base_model: str | None = None,
    base_config: str | None = None,
) -> StagedRepo:
    """Adapter weights and config, tokenizer, training facts (paths stripped), the model card and its plots.

    `base_model` replaces the adapter config's `base_model_name_or_path` (a local or `builtin:`
    base must become a Hub id before anyone else can load the adapter).
    """
    repo = StagedRepo("adapter", repos.adapter, "model", _fresh(stage_root / "models" / repos.adapter_name))
    if not (adapter_dir / ADAPTER_CONFIG).is_file() or not (adapter_dir / ADAPTER_WEIGHTS).is_file():
        repo.problems.append(
            f"{adapter_dir} holds no PEFT adapter ({ADAPTER_CONFIG} and {ADAPTER_WEIGHTS}): pass train.py's output_dir with --adapter-dir"
        )
        return repo
    facts = TrainingFacts.from_training_dir(adapter_dir)
    # The model it was trained on, as recorded before paths were stripped: the shapes are checked against it.
    trained_on = read_json_object(adapter_dir / ADAPTER_CONFIG).get("base_model_name_or_path")
    repo.base_config = base_config or trained_on
    repo.base_config_origin = "--base-config" if base_config else "the base recorded by the training run"
    if base_model:
        repo.notes.append(f"base_model_name_or_path: {facts.base_model!r} -> {base_model!r} (--base-model)")
        facts.adapter_config["base_model_name_or_path"] = base_model
    if facts.paths_stripped:
        repo.notes.append(
            f"{facts.paths_stripped} local path(s) replaced in the adapter config, recipe and run metadata"
        )
    published: set[str] = set()
    for name, text in facts.copies().items():
        (repo.folder / name).write_text(text, encoding="utf-8")
        published.add(name)
    shutil.copyfile(adapter_dir / ADAPTER_WEIGHTS, repo.folder / ADAPTER_WEIGHTS)
    published.add(ADAPTER_WEIGHTS)
    tokenizer = [name for name in TOKENIZER_FILES if (adapter_dir / name).is_file()]
    for name in tokenizer:
        shutil.copyfile(adapter_dir / name, repo.folder / name)
    published.update(tokenizer)
    replaced = _strip_text_files(repo.folder)
    if replaced:
        repo.notes.append(f"{replaced} local path(s) replaced in the tokenizer configuration")

    runs, _ = load_runs(results_dir)
    card, plots = build_model_card(runs, repos, facts)
    write_card(card_text(card), plots, repo.folder)
    repo.notes.append(f"model card rendered from {len(runs)} run(s) in {results_dir}, {len(plots)} plot(s)")

    repo.notes += _left_out(adapter_dir, published)
    return repo


def _left_out(source: Path, published: set[str]) -> list[str]:
    """One note per file of `source` not published, and one per folder (checkpoints hold many)."""
    notes = []
    for path in sorted(source.iterdir()):
        if path.is_dir():
            count = sum(1 for p in path.rglob("*") if p.is_file())
            notes.append(f"left out {path.name}/ ({count} files): {_reason_left_out(path)}")
        elif path.name not in published:
            notes.append(f"left out {path.name}: {_reason_left_out(path)}")
    return notes


def stage_results(
    results_dir: Path, repos: ReleaseRepos, stage_root: Path, policy: ErrorPolicy | None = None
) -> StagedRepo:
    repo = StagedRepo("results", repos.results, "dataset", stage_root / "datasets" / repos.results_name)
    try:
        manifest = build_results_dataset(results_dir, repo.folder, repos, policy)
    except DataError as error:
        repo.problems.append(str(error))
        return repo
    repo.notes.append(
        f"built from {len(manifest['runs'])} run(s) in {results_dir}: {manifest['counts']}; "
        f"{len(manifest['skipped'])} bad sample line(s) skipped; {manifest['local_paths_replaced']} local path(s) replaced"
    )
    return repo
