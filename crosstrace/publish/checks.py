"""Checks on a staged repository: what must hold before anything is pushed.

Every staged repository gets the common checks; datasets and the adapter get their own:

- `files`:   only the file kinds the repository publishes (crosstrace/publish/allowed_files.py),
             no symbolic link; no optimizer/scheduler/RNG state, checkpoint folder, trainer state,
             pickle (.bin/.pt/.pth/.pkl/.ckpt), training log, VCS or cache folder; no full model
             weights in an adapter repository.
- `secrets`: no credential in any byte of any file that can hold text (crosstrace/publish/scan.py:
             text files and tokenizer vocabularies, parquet metadata and rows, PNG text chunks,
             safetensors headers, files of unknown kind), read in pieces of bounded size; a file
             that cannot be read as its kind fails the check (Hugging Face, OpenAI/Anthropic,
             GitHub, AWS, Google, Slack tokens, private keys, `api_key = ...` assignments).
- `paths`:   no absolute local path (/home, /root, /work, /tmp, /Users, C:\\ ..., file://, this
             checkout's own location) in the same places, vocabularies excepted.
- `sizes`:   no empty file, none above the size limit (2 GB, `--max-file-size`), and few enough
             files and little enough plain-text content that `upload_folder` makes exactly one commit.
- `card`:    README.md parses with huggingface_hub's card classes (YAML metadata, model-index),
             has a licence and no stub text or `<org>/` placeholder, carries the shared blocks
             verbatim (crosstrace/cards: citations, sources_attribution, release_family);
             a dataset card's `configs` name data files that exist; a model card names a Hub base
             model and `library_name: peft`.
- `load`:    datasets: every config loads with `datasets.load_dataset` offline and matches the
             manifest's counts and checksums.
- `decontamination`: the three datasets: the card's decontamination section is the render of the
             `decontamination.json` beside it (or says there is none yet, when there is none), and
             that report was made from this folder's data files (crosstrace/cards/decontamination.py).
- `adapter`: the adapter loads with PEFT onto a model built from its base configuration on the
             meta device (no weights allocated, so a 7B base costs nothing): PEFT's own loading
             rejects any LoRA tensor whose shape does not fit its layer, and the saved tensors
             must be exactly the LoRA tensors PEFT expects (none missing, none extra). The
             tokenizer, when published, loads and fits the base's embedding.
"""

from __future__ import annotations

import fnmatch
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.cards import shared_pieces
from crosstrace.cards.decontamination import REPORT_NAME, card_problems, read_report
from crosstrace.hub_folder import MANIFEST_NAME, read_manifest, verify_checksums
from crosstrace.publish import allowed_files, scan
from crosstrace.publish.allowed_files import ADAPTER_WEIGHTS
from crosstrace.publish.limits import human_size
from crosstrace.publish.repos import ORG_PLACEHOLDER, is_hub_id
from crosstrace.publish.stage import TEXT_SUFFIXES, StagedRepo
from crosstrace.sanitize import local_path_matches, secret_matches

# `upload_folder` (huggingface_hub 2.4, with hf_xet) splits a folder into several commits past
# 256 files or 100 MB of content sent inline; staying well below both keeps one commit per repo.
MAX_FILES_PER_COMMIT = 200
MAX_INLINE_BYTES = 50 * 1024**2
# What the Hub stores inline rather than through LFS/Xet: small text-like files.
INLINE_LIMIT_BYTES = 10 * 1024**2
STUB_TEXT = ("More Information Needed", "More information needed", "[More Information", "TODO")

FORBIDDEN_NAMES = {
    "optimizer.pt": "optimizer state",
    "optimizer.bin": "optimizer state",
    "scheduler.pt": "learning-rate scheduler state",
    "scaler.pt": "gradient scaler state",
    "trainer_state.json": "trainer state",
    "training_args.bin": "pickled training arguments",
    ".DS_Store": "desktop metadata",
}
FORBIDDEN_PATTERNS = {
    "rng_state*.pth": "random-number-generator state",
    "events.out.tfevents.*": "training log",
    "*.ckpt": "checkpoint",
    "*.pt": "pickled tensors (publish safetensors)",
    "*.pth": "pickled tensors (publish safetensors)",
    "*.bin": "pickled weights or state (publish safetensors)",
    "*.pkl": "pickle",
    "*.pickle": "pickle",
}
FORBIDDEN_DIRS = {
    "checkpoint-*": "checkpoint folder",
    "global_step*": "DeepSpeed checkpoint",
    ".git": "git metadata",
    "__pycache__": "Python cache",
    ".ipynb_checkpoints": "notebook checkpoints",
    "wandb": "experiment-tracker logs",
}
FULL_WEIGHTS = ("model.safetensors", "model-*-of-*.safetensors", "pytorch_model*.bin")


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str
    problems: list[str] = field(default_factory=list)


def _result(name: str, problems: list[str], ok_detail: str, max_listed: int = 20) -> CheckResult:
    if not problems:
        return CheckResult(name, True, ok_detail)
    shown = problems[:max_listed]
    if len(problems) > max_listed:
        shown.append(f"... and {len(problems) - max_listed} more")
    return CheckResult(name, False, f"{len(problems)} problem(s)", shown)


# --- files -------------------------------------------------------------------------------------


def check_files(repo: StagedRepo) -> CheckResult:
    problems = []
    files = repo.files()
    for path in files:
        relative = path.relative_to(repo.folder)
        if path.is_symlink():
            problems.append(
                f"{relative}: a symbolic link: a stage holds plain files only (a push would upload its target)"
            )
            continue
        problem = next(
            (
                f"{relative}: inside a {why} ({part}/)"
                for part in relative.parts[:-1]
                for pattern, why in FORBIDDEN_DIRS.items()
                if fnmatch.fnmatch(part, pattern)
            ),
            None,
        )
        reason = FORBIDDEN_NAMES.get(path.name) or next(
            (why for pattern, why in FORBIDDEN_PATTERNS.items() if fnmatch.fnmatch(path.name, pattern)), None
        )
        if problem is None and reason:
            problem = f"{relative}: {reason}"
        if problem is None and repo.kind == "adapter" and any(fnmatch.fnmatch(path.name, p) for p in FULL_WEIGHTS):
            problem = f"{relative}: full model weights in an adapter repository"
        if problem is None and (not_published := allowed_files.refusal(repo.kind, relative)):
            problem = f"{relative}: {not_published}"
        if problem:
            problems.append(problem)
    return _result(
        "files", problems, f"{len(files)} files, each of a kind this repository publishes; no links, state or pickles"
    )


# --- secrets and local paths ------------------------------------------------------------------


def _scan(repo: StagedRepo, name: str, purpose: scan.Purpose, matcher: scan.Matcher) -> CheckResult:
    problems, vocabularies, scanned = [], [], 0
    for path in repo.files():
        relative = path.relative_to(repo.folder)
        if path.is_symlink():
            continue  # never followed: the files check refuses it
        if too_large := repo.limits.file_refusal(path.stat().st_size):
            problems.append(f"{relative}: not scanned: {too_large}")
            continue
        if not scan.scanned_for(path, purpose):
            vocabularies.append(path.name)
            continue
        scanned += 1
        try:
            for section in scan.sections(path, purpose, repo.limits):
                for kind, line, excerpt in scan.matches(section.pieces, matcher, repo.limits.scan_overlap_chars):
                    problems.append(f"{relative} {section.where}{line}: {kind}: {excerpt}")
        except scan.Unscannable as error:
            problems.append(f"{relative}: cannot be read, so cannot be checked: {error}")
    detail = f"none in {scanned} file(s), every part that can hold text (not {scan.NOT_TEXT})"
    if vocabularies:
        detail += f"; tokenizer vocabularies not searched for paths: {', '.join(sorted(set(vocabularies)))}"
    return _result(name, problems, detail)


def check_secrets(repo: StagedRepo) -> CheckResult:
    return _scan(repo, "secrets", "secrets", secret_matches)


def check_local_paths(repo: StagedRepo) -> CheckResult:
    return _scan(repo, "paths", "paths", local_path_matches)


# --- sizes -------------------------------------------------------------------------------------


def _is_inline(path: Path) -> bool:
    return path.suffix in TEXT_SUFFIXES and path.lstat().st_size <= INLINE_LIMIT_BYTES


def check_sizes(repo: StagedRepo) -> CheckResult:
    files = repo.files()  # sized with lstat: a link is never followed (the files check refuses it)
    problems = [f"{p.relative_to(repo.folder)}: empty file" for p in files if p.lstat().st_size == 0]
    problems += [
        f"{p.relative_to(repo.folder)}: {too_large}"
        for p in files
        if (too_large := repo.limits.file_refusal(p.lstat().st_size))
    ]
    if len(files) > MAX_FILES_PER_COMMIT:
        problems.append(f"{len(files)} files: more than {MAX_FILES_PER_COMMIT} would be split over several commits")
    inline = sum(p.lstat().st_size for p in files if _is_inline(p))
    if inline > MAX_INLINE_BYTES:
        problems.append(
            f"{human_size(inline)} of plain-text files: above {human_size(MAX_INLINE_BYTES)} they would be split over several commits"
        )
    total = sum(p.lstat().st_size for p in files)
    return _result(
        "sizes",
        problems,
        f"{len(files)} files, {human_size(total)} in all ({human_size(inline)} plain text); one commit",
    )


# --- card --------------------------------------------------------------------------------------


def _data_files(entry: dict) -> list[str]:
    files = entry.get("data_files")
    if isinstance(files, str):
        return [files]
    paths = []
    for item in files or []:
        if isinstance(item, str):
            paths.append(item)
        elif isinstance(item, dict):
            value = item.get("path")
            paths += value if isinstance(value, list) else [value]
    return [p for p in paths if p]


def _dataset_card_problems(card, folder: Path) -> list[str]:
    problems = []
    configs = card.data.get("configs")
    if not isinstance(configs, list) or not configs:
        return ["no `configs:` in the YAML metadata (datasets 5.x needs them to find the data files)"]
    defaults = [c.get("config_name") for c in configs if isinstance(c, dict) and c.get("default")]
    if len(configs) > 1 and len(defaults) != 1:
        problems.append(f"exactly one config must be `default: true`, found {defaults or 'none'}")
    for entry in configs:
        if not isinstance(entry, dict) or not entry.get("config_name"):
            problems.append(f"a `configs` entry without config_name: {entry!r}")
            continue
        files = _data_files(entry)
        if not files:
            problems.append(f"config {entry['config_name']!r} lists no data_files")
        for pattern in files:
            if not list(folder.glob(pattern)):
                problems.append(f"config {entry['config_name']!r}: data file {pattern} does not exist")
    return problems


def _model_card_problems(card) -> list[str]:
    problems = []
    base = card.data.get("base_model")
    if not is_hub_id(base):
        problems.append(f"base_model must be a Hub model id (namespace/name), got {base!r}")
    if card.data.get("library_name") != "peft":
        problems.append(f"library_name must be 'peft', got {card.data.get('library_name')!r}")
    for dataset in card.data.get("datasets") or []:
        if not is_hub_id(dataset):
            problems.append(f"datasets: {dataset!r} is not a Hub dataset id")
    for result in card.data.eval_results or []:
        if not isinstance(result.metric_value, int | float):
            problems.append(
                f"model-index: {result.dataset_name} {result.metric_type} has a non-numeric value {result.metric_value!r}"
            )
    return problems


def check_card(repo: StagedRepo) -> CheckResult:
    from huggingface_hub import DatasetCard, ModelCard

    readme = repo.folder / "README.md"
    if not readme.is_file() or readme.is_symlink():
        return CheckResult("card", False, "no README.md", ["every repository needs its card as README.md"])
    if too_large := repo.limits.read_refusal(readme.stat().st_size):
        return CheckResult("card", False, "README.md too large to read", [f"README.md: {too_large}"])
    text = readme.read_text(encoding="utf-8")
    card_class = ModelCard if repo.repo_type == "model" else DatasetCard
    if not text.startswith("---"):
        return CheckResult("card", False, "no YAML metadata block", ["README.md must start with a `---` YAML block"])
    try:
        # The Hub's own parser; ignore_metadata_errors=False raises on a malformed model-index.
        card = card_class(text, ignore_metadata_errors=False)
    except Exception as error:  # yaml.YAMLError, ValueError: whatever the Hub's parser rejects
        return CheckResult("card", False, "YAML metadata does not parse", [f"README.md: {error}"])
    problems = [f"stub text {stub!r} in README.md" for stub in STUB_TEXT if stub in card.text]
    if ORG_PLACEHOLDER in text:
        problems.append(
            f"README.md still names a Hub id as `{ORG_PLACEHOLDER}...`: stage it with upload.py, which fills in the organisation"
        )
    if not card.data.get("license"):
        problems.append("no licence in the metadata")
    for name, piece in shared_pieces().items():
        if piece not in text:
            problems.append(
                f"the shared {name.replace('_', ' ')} block (crosstrace/cards/{name}.md) is missing or edited: cards must carry it verbatim"
            )
    problems += _model_card_problems(card) if repo.repo_type == "model" else _dataset_card_problems(card, repo.folder)
    summary = f"metadata valid ({len(card.data.to_dict())} fields"
    if repo.repo_type == "model":
        summary += f", {len(card.data.eval_results or [])} model-index results"
    else:
        summary += f", {len(card.data.get('configs') or [])} configs"
    return _result("card", problems, summary + f"); shared blocks present ({', '.join(shared_pieces())})")


# --- datasets load -----------------------------------------------------------------------------


def check_dataset_loads(repo: StagedRepo) -> CheckResult:
    from datasets import disable_progress_bars, enable_progress_bars, is_progress_bar_enabled, load_dataset
    from huggingface_hub import DatasetCard

    readme = repo.folder / "README.md"
    try:
        configs = [c["config_name"] for c in DatasetCard.load(readme).data.get("configs") or []]
    except Exception as error:  # the card check reports the details
        return CheckResult("load", False, "cannot read the configs", [str(error)])
    manifest = read_manifest(repo.folder) if (repo.folder / MANIFEST_NAME).is_file() else {}
    problems, loaded = [], []
    bars_were_on = is_progress_bar_enabled()
    disable_progress_bars()  # a handful of quick loads; their bars would bury the report
    try:
        with tempfile.TemporaryDirectory(prefix="crosstrace-load-check-") as cache:
            for config in configs:
                try:
                    splits = load_dataset(str(repo.folder), config, cache_dir=cache)
                except Exception as error:  # whatever datasets raises is the finding
                    problems.append(f"config {config!r}: load_dataset failed: {type(error).__name__}: {error}")
                    continue
                counts = {split: ds.num_rows for split, ds in splits.items()}
                expected = (manifest.get("counts") or {}).get(config)
                if expected is not None and expected != counts:
                    problems.append(f"config {config!r}: loaded {counts}, the manifest says {expected}")
                loaded.append(f"{config} {counts}")
    finally:
        if bars_were_on:
            enable_progress_bars()
    if manifest.get("files"):
        problems += [
            f"{relative}: sha256 differs from the manifest (or the file is missing)"
            for relative in verify_checksums(repo.folder)
        ]
    return _result(
        "load",
        problems,
        "load_dataset offline: " + "; ".join(loaded) + ("; manifest checksums match" if manifest.get("files") else ""),
    )


def check_decontamination(repo: StagedRepo) -> CheckResult:
    problems = card_problems(repo.folder)
    report = read_report(repo.folder)
    if report is None:
        detail = f"no {REPORT_NAME} yet: the card says so and how to make one (no figures given)"
    else:
        detail = f"{REPORT_NAME}: {len(report['pairs'])} training/evaluation pair(s); the card's table is its render"
    return _result("decontamination", problems, detail)


# --- adapter -----------------------------------------------------------------------------------


def _saved_shapes(weights: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        names = list(handle.keys())
        return {name: tuple(handle.get_slice(name).get_shape()) for name in names}


def check_adapter_loads(repo: StagedRepo) -> CheckResult:
    import torch
    from peft import PeftConfig, PeftModel, get_peft_model_state_dict
    from transformers import AutoModelForCausalLM

    from crosstrace.base_configs import BaseConfigNotFound, find_base_config

    problems = []
    try:
        peft_config = PeftConfig.from_pretrained(str(repo.folder))
    except Exception as error:  # a malformed adapter_config.json, whatever the exact error
        return CheckResult("adapter", False, "adapter_config.json does not load", [f"{type(error).__name__}: {error}"])
    base = peft_config.base_model_name_or_path
    if not is_hub_id(base):
        problems.append(
            f"base_model_name_or_path {base!r} is not a Hub id: nobody else can load the base; pass --base-model <hub id>"
        )
    try:
        config, origin = find_base_config(base, repo.base_config, repo.base_config_origin)
    except BaseConfigNotFound as error:
        return CheckResult("adapter", False, "base model configuration not found", [*problems, str(error)])
    with warnings.catch_warnings():
        # Library notes about a base that is not downloaded (vocabulary checks, deprecations) are
        # not findings here: every finding is in the result.
        warnings.simplefilter("ignore")
        with torch.device("meta"):
            # Shapes only: a model on the meta device allocates no memory, whatever its size.
            model = AutoModelForCausalLM.from_config(config)
        try:
            peft_model = PeftModel.from_pretrained(model, str(repo.folder), low_cpu_mem_usage=True)
        except Exception as error:  # PEFT's loader: shape mismatches, unknown target modules, ...
            return CheckResult(
                "adapter",
                False,
                f"PEFT cannot load it onto {origin}",
                [*problems, f"{type(error).__name__}: {str(error)[:2000]}"],
            )
        expected = {key: tuple(value.shape) for key, value in get_peft_model_state_dict(peft_model).items()}
    saved = _saved_shapes(repo.folder / ADAPTER_WEIGHTS)
    problems += [
        f"expected LoRA tensor missing from {ADAPTER_WEIGHTS}: {key}" for key in sorted(set(expected) - set(saved))
    ]
    problems += [
        f"tensor in {ADAPTER_WEIGHTS} that this LoRA config does not create: {key}"
        for key in sorted(set(saved) - set(expected))
    ]
    problems += [
        f"{key}: saved shape {saved[key]}, the base needs {expected[key]}"
        for key in sorted(set(saved) & set(expected))
        if saved[key] != expected[key]
    ]
    problems += _tokenizer_problems(repo.folder, config)
    parameters = sum(torch.Size(shape).numel() for shape in saved.values())
    modules = len({key.rsplit(".lora_", 1)[0] for key in saved})
    targets = peft_config.target_modules
    # PEFT saves "all-linear" as the full module names; their last parts say which layers.
    target_kinds = (
        sorted({t.rsplit(".", 1)[-1] for t in targets}) if isinstance(targets, set | list) else [str(targets)]
    )
    detail = (
        f"PEFT loads it onto {origin}: {len(saved)} LoRA tensors ({parameters:,} parameters) on {modules} modules "
        f"({', '.join(target_kinds)}), r={getattr(peft_config, 'r', '?')}; every shape fits"
    )
    return _result("adapter", problems, detail)


def _tokenizer_problems(folder: Path, config) -> list[str]:
    if not (folder / "tokenizer_config.json").is_file():
        return []
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as error:  # whatever transformers raises for a broken tokenizer
        return [f"the published tokenizer does not load: {type(error).__name__}: {error}"]
    problems = []
    if len(tokenizer) > config.vocab_size:
        problems.append(
            f"the tokenizer has {len(tokenizer)} tokens, more than the base's {config.vocab_size} embeddings"
        )
    if not tokenizer.chat_template:
        problems.append("the published tokenizer has no chat template")
    return problems


# --- all ---------------------------------------------------------------------------------------


def run_checks(repo: StagedRepo) -> list[CheckResult]:
    if repo.problems:
        return [CheckResult("staged", False, "could not be staged", list(repo.problems))]
    checks = [check_files(repo), check_secrets(repo), check_local_paths(repo), check_sizes(repo), check_card(repo)]
    if repo.repo_type == "dataset":
        checks.append(check_dataset_loads(repo))
    if repo.kind == "dataset":  # the three datasets; not the results dataset
        checks.append(check_decontamination(repo))
    if repo.kind == "adapter":
        checks.append(check_adapter_loads(repo))
    return checks
