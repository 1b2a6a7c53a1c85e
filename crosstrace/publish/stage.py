"""Stage exactly the folder trees that would be pushed, one folder per Hub repository.

    <stage>/datasets/<name>/     a built dataset folder, as `python -m crosstrace.builders` wrote it
    <stage>/models/<name>/       the adapter: weights, config, tokenizer, model card, training facts
    <stage>/datasets/<results>/  dacr_results/ as a dataset (crosstrace/publish/results_dataset.py)

What a stage holds is what `push` uploads, file for file; nothing is added or filtered at push
time. Staging says what it did: every file of a source folder it left out (and why) and every
local path it replaced goes into the stage's notes, which `upload.py` prints.

Only the file kinds a repository publishes are staged (crosstrace/publish/allowed_files.py), never
through a symbolic link, and never a file above the size limit: each is checked before the file is
opened (crosstrace/publish/source_tree.py). A built dataset folder holding anything else stops its
repository's staging, naming the file: the builders write exactly the Hub layout, so anything else
was put there by hand (caches and unfinished build files are skipped and counted). A training
output holds checkpoints and logs besides the release: staging takes the release's files by name
and lists what it left out.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import read_json_object
from crosstrace.publish.allowed_files import ADAPTER_WEIGHTS, TOKENIZER_FILES
from crosstrace.publish.limits import Limits
from crosstrace.publish.model_card import build_model_card, card_text, write_card
from crosstrace.publish.repos import DATASET_REPOS, ORG_PLACEHOLDER, ReleaseRepos
from crosstrace.publish.results_dataset import build_results_dataset, refused_inputs
from crosstrace.publish.source_tree import SourceRefused, copy_checked, count_files, plan_folder, refusal
from crosstrace.publish.training_facts import ADAPTER_CONFIG, RECIPE, RUN_METADATA, TRAIN_RESULTS, TrainingFacts
from crosstrace.results_schema import load_runs
from crosstrace.sanitize import strip_local_paths_in_text

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
    limits: Limits = field(default_factory=Limits)

    def files(self) -> list[Path]:
        """Every file of the stage, and every symbolic link, which is listed but never followed (the checks refuse it)."""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.folder):  # nothing when there is no folder
            here = Path(dirpath)
            found += [here / name for name in filenames]
            found += [here / name for name in dirnames if (here / name).is_symlink()]
        return sorted(found)


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _strip_text_files(repo: StagedRepo) -> int:
    """Rewrite local paths in the stage's text files; returns how many were replaced. A text file
    above the read limit is left as it is, and noted: the paths check scans it all the same."""
    total = 0
    for path in repo.files():
        if path.suffix not in TEXT_SUFFIXES or path.name in VOCABULARY_FILES:
            continue
        if too_large := repo.limits.read_refusal(path.stat().st_size):
            repo.notes.append(f"{path.relative_to(repo.folder)}: local paths not rewritten ({too_large})")
            continue
        clean, n = strip_local_paths_in_text(path.read_text(encoding="utf-8", errors="strict"))
        if n:
            path.write_text(clean, encoding="utf-8")
            total += n
    return total


def stage_datasets(
    datasets_dir: Path, keys: list[str], repos: ReleaseRepos, stage_root: Path, limits: Limits | None = None
) -> list[StagedRepo]:
    limits = limits or Limits()
    staged = []
    for key in keys:
        name = DATASET_REPOS[key]
        repo = StagedRepo("dataset", repos.dataset(key), "dataset", stage_root / "datasets" / name, limits=limits)
        staged.append(repo)
        _fresh(repo.folder)  # nothing of an earlier run stays behind, whatever happens below
        source = datasets_dir / key
        if not (source / "README.md").is_file():
            repo.problems.append(
                f"{source} is not a built dataset folder: build it with `python -m crosstrace.builders {key} --out {source}`"
            )
            continue
        # Everything is judged before anything is copied: a refused file stops the whole repository.
        plan = plan_folder(source, "dataset", limits)
        if plan.refused:
            repo.problems += plan.refused
            continue
        try:
            for path in plan.files:
                copy_checked(path, plan.root, repo.folder / path.relative_to(plan.root), limits)
        except SourceRefused as refused:  # changed since it was planned
            repo.problems += refused.problems
            continue
        replaced = _strip_text_files(repo)
        repo.notes.append(
            f"copied {len(plan.files)} files from {source}"
            + (f"; {replaced} local path(s) replaced in its text files" if replaced else "")
        )
        repo.notes += [f"skipped {skipped}" for skipped in plan.skipped]
        _name_the_organisation(repo, repos)
    return staged


def _name_the_organisation(repo: StagedRepo, repos: ReleaseRepos) -> None:
    card = repo.folder / "README.md"
    if repo.limits.read_refusal(card.stat().st_size):
        return  # the card check refuses it
    text = card.read_text(encoding="utf-8")
    if ORG_PLACEHOLDER in text:
        card.write_text(text.replace(ORG_PLACEHOLDER, f"{repos.hub_org}/"), encoding="utf-8")
        repo.notes.append(
            f"README.md: {text.count(ORG_PLACEHOLDER)} Hub id(s) written as `{ORG_PLACEHOLDER}...` now name {repos.hub_org}/"
        )


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
    limits: Limits | None = None,
) -> StagedRepo:
    """Adapter weights and config, tokenizer, training facts (paths stripped), the model card and its plots.

    `base_model` replaces the adapter config's `base_model_name_or_path` (a local or `builtin:`
    base must become a Hub id before anyone else can load the adapter).
    """
    limits = limits or Limits()
    repo = StagedRepo(
        "adapter", repos.adapter, "model", _fresh(stage_root / "models" / repos.adapter_name), limits=limits
    )
    if not (os.path.lexists(adapter_dir / ADAPTER_CONFIG) and os.path.lexists(adapter_dir / ADAPTER_WEIGHTS)):
        repo.problems.append(
            f"{adapter_dir} holds no PEFT adapter ({ADAPTER_CONFIG} and {ADAPTER_WEIGHTS}): pass train.py's output_dir with --adapter-dir"
        )
        return repo
    # Every file this reads, checked before any is opened: the training facts (read whole), the
    # files copied as they are, and the evaluation runs the card is rendered from.
    read_whole = [adapter_dir / name for name in (ADAPTER_CONFIG, RECIPE, RUN_METADATA, TRAIN_RESULTS)]
    copied = [adapter_dir / name for name in (ADAPTER_WEIGHTS, *TOKENIZER_FILES)]
    refused = [refusal(path, adapter_dir, limits.read_refusal) for path in read_whole if os.path.lexists(path)]
    refused += [refusal(path, adapter_dir, limits.file_refusal) for path in copied if os.path.lexists(path)]
    repo.problems += [problem for problem in refused if problem] + refused_inputs(results_dir, limits)
    if repo.problems:
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
    try:
        for path in copied:
            if path.exists():
                copy_checked(path, adapter_dir, repo.folder / path.name, limits)
                published.add(path.name)
    except SourceRefused as refused_now:  # changed since it was checked
        repo.problems += refused_now.problems
        return repo
    replaced = _strip_text_files(repo)
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
        if path.is_symlink():
            notes.append(f"left out {path.name}: a symbolic link (never followed)")
        elif path.is_dir():
            notes.append(f"left out {path.name}/ ({count_files(path)} files): {_reason_left_out(path)}")
        elif path.name not in published:
            notes.append(f"left out {path.name}: {_reason_left_out(path)}")
    return notes


def stage_results(
    results_dir: Path,
    repos: ReleaseRepos,
    stage_root: Path,
    policy: ErrorPolicy | None = None,
    limits: Limits | None = None,
) -> StagedRepo:
    limits = limits or Limits()
    repo = StagedRepo("results", repos.results, "dataset", stage_root / "datasets" / repos.results_name, limits=limits)
    if repo.folder.exists():  # nothing of an earlier run stays behind when this one is refused
        shutil.rmtree(repo.folder)
    try:
        manifest = build_results_dataset(results_dir, repo.folder, repos, policy, limits)
    except SourceRefused as refused:
        repo.problems += refused.problems
        return repo
    except DataError as error:
        repo.problems.append(str(error))
        return repo
    repo.notes.append(
        f"built from {len(manifest['runs'])} run(s) in {results_dir}: {manifest['counts']}; "
        f"{len(manifest['skipped'])} bad sample line(s) skipped; {manifest['local_paths_replaced']} local path(s) replaced"
    )
    return repo
