"""The adapter's model card, rendered from results files and training facts, never typed by hand.

    python -m crosstrace.publish.model_card --results dacr_results --out model_card/README.md
    python -m crosstrace.publish.model_card --results dacr_results --out model_card/README.md \\
        --adapter-dir outputs/qwen25-7b-crosstrace      # after a training run: keep its facts too
    python -m crosstrace.publish.model_card --check     # exit 1 when model_card/README.md is stale

The card is `crosstrace/cards/model_card.md` rendered with `ModelCard.from_template`:
`model-index` holds one `EvalResult` per task and metric of the release adapter's latest run,
the tables come from `crosstrace.publish.tables` (the same code as the README's), and the plots
of the runs shown are copied beside the card under `plots/<run-id>/`. With `--adapter-dir`, the
training run's LoRA configuration, resolved recipe and metadata are copied (local paths stripped)
into the card's folder, so a later re-render needs nothing outside the repository.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from crosstrace.cards import CARDS_DIR, shared_pieces
from crosstrace.cli import run_command
from crosstrace.errors import DataError
from crosstrace.paths import REPO_ROOT
from crosstrace.publish.repos import DATASET_REPOS, HUB_ORG_ENV, HubOrgError, ReleaseRepos, is_hub_id, resolve_hub_org
from crosstrace.publish.runs import RELEASE_BASE_MODEL, Comparison, release_comparisons
from crosstrace.publish.tables import (
    NO_VALUE,
    all_runs_section,
    breakdown_tables,
    comparison_table,
    markdown_table,
    reference_section,
    scoring_label,
    task_title,
)
from crosstrace.publish.training_facts import TrainingFacts
from crosstrace.results_schema import DEFAULT_RESULTS_DIR, Run, load_runs

TEMPLATE = CARDS_DIR / "model_card.md"
PLOTS_DIR = "plots"
LICENSE, LICENSE_NAME = "apache-2.0", "Apache-2.0"  # Qwen2.5-7B-Instruct's own licence
TAGS = [
    "peft",
    "lora",
    "qlora",
    "trl",
    "sft",
    "scientific-reasoning",
    "hypothesis-generation",
    "document-reasoning",
    "crosstrace",
]
# Libraries whose versions the card lists, in this order, when they were recorded.
FRAMEWORKS = (
    "crosstrace",
    "peft",
    "transformers",
    "trl",
    "torch",
    "datasets",
    "accelerate",
    "bitsandbytes",
    "tokenizers",
    "huggingface_hub",
    "vllm",
)
# The released dataset each task scores, and how the model-index names it.
_TASK_DATASET_KEY = {"crosstrace": "crosstrace", "mcq": "mcq"}
_TASK_DATASET_NAMES = {"crosstrace": "CrossTrace", "mcq": "CrossTrace ten-option science questions"}


@dataclass(frozen=True)
class Plot:
    caption: str
    path: str  # relative to the card
    source: Path


def _lora_summary(facts: TrainingFacts, base_model: str) -> str:
    config = facts.adapter_config
    if not config:
        return (
            f"LoRA on `{base_model}`. No training run is recorded beside this card yet, so the adapter's own configuration "
            "is not shown; the recipe below says what the release trains. Rendering the card with "
            "`--adapter-dir <train.py output_dir>` fills this section in from the run."
        )
    targets = config.get("target_modules")
    if isinstance(targets, list):
        # PEFT saves "all-linear" as every module's full name; the layer kinds say it shorter.
        kinds = sorted({str(t).rsplit(".", 1)[-1] for t in targets})
        targets_text = ", ".join(f"`{k}`" for k in kinds) + (
            f" ({len(targets)} modules)" if len(targets) > len(kinds) else ""
        )
    else:
        targets_text = f"`{targets}`"
    recorded_base = f" (the run recorded `{facts.base_model}`)" if facts.base_model not in (None, base_model) else ""
    rows = [
        ["PEFT type", str(config.get("peft_type", "LORA"))],
        ["rank `r`", str(config.get("r"))],
        ["`lora_alpha`", str(config.get("lora_alpha"))],
        ["`lora_dropout`", str(config.get("lora_dropout"))],
        ["target modules", targets_text],
        ["bias", str(config.get("bias"))],
        ["base model", f"`{base_model}`{recorded_base}"],
    ]
    quantized = bool((facts.recipe or {}).get("load_in_4bit"))
    lead = "QLoRA: the base model is loaded in 4-bit NF4 and frozen" if quantized else "LoRA: the base model is frozen"
    return f"{lead}; only these LoRA matrices train.\n\n" + markdown_table(["setting", "value"], rows)


# Recipe keys worth reading first (TRL's ModelConfig and SFTConfig names), in this order.
KEY_SETTINGS = (
    "model_name_or_path", "dtype", "load_in_4bit", "bnb_4bit_quant_type", "use_bnb_nested_quant", "lora_r", "lora_alpha",
    "lora_dropout", "lora_target_modules", "max_length", "packing", "completion_only_loss", "assistant_only_loss",
    "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "lr_scheduler_type", "warmup_steps",
    "warmup_ratio", "num_train_epochs", "max_steps", "seed",
)  # fmt: skip


def _key_settings(facts: TrainingFacts) -> str:
    recipe = facts.recipe or {}
    rows = [[f"`{key}`", _scalar(recipe[key])] for key in KEY_SETTINGS if key in recipe]
    return markdown_table(["setting", "value"], rows) if rows else ""


def _mixture_section(facts: TrainingFacts, repos: ReleaseRepos) -> str:
    sources = facts.mixture()
    if not sources:
        return (
            "The recipe records no mixture. The release mixes the three datasets listed in this card's metadata: "
            + ", ".join(f"`{repo}`" for repo in repos.datasets)
            + "."
        )
    # A column only where some source sets it: a resampling or a cap is worth a column, `false` everywhere is not.
    columns = [
        key
        for key in ("label", "path", "name", "split", "weight", "replacement", "cap_ratio")
        if any(s.get(key) not in (None, False) for s in sources)
    ]
    rows = [
        [_hub_name(str(s.get(key, "")), repos) if key == "path" else _scalar(s.get(key)) for key in columns]
        for s in sources
    ]
    return (
        "Each source is read with `datasets.load_dataset`; its weight is the number of copies of it in the mix "
        "(0.5: a seeded half, 2: every row twice). Every row becomes a prompt/completion pair, and loss falls on "
        "the completion only.\n\n" + markdown_table(columns, rows)
    )


def _hub_name(path: str, repos: ReleaseRepos) -> str:
    """A local build folder of a released dataset -> the dataset's Hub id (what a reader can load)."""
    name = Path(path).name
    return repos.dataset(name) if name in DATASET_REPOS else path


def _training_run_section(facts: TrainingFacts, repos: ReleaseRepos) -> str | None:
    """What the run recorded (train.py's run_metadata.json and train_results.json), as tables."""
    run, results = facts.run_metadata or {}, facts.train_results or {}
    parts = []
    if results:
        parts.append(
            markdown_table(
                ["metric", "value"],
                [[key, _scalar(value)] for key, value in results.items() if not isinstance(value, dict | list)],
            )
        )
    sources = [s for s in run.get("datasets") or [] if isinstance(s, dict)]
    if sources:
        columns = ["label", "path", "name", "split", "layout", "available", "used", "fingerprint"]
        rows = [
            [_hub_name(str(s.get(c, "")), repos) if c == "path" else _scalar(s.get(c, "")) for c in columns]
            for s in sources
        ]
        parts.append(
            "Rows each source contributed (`used` counts copies from its weight):\n\n" + markdown_table(columns, rows)
        )
    lengths = [r for r in run.get("token_lengths") or [] if isinstance(r, dict)]
    if lengths:
        columns = [
            c
            for c in ("source", "rows", "tokens", "mean", "p50", "p95", "max", "over")
            if any(c in r for r in lengths)
        ]
        rows = [[_scalar(r.get(c, "")) for c in columns] for r in lengths]
        parts.append(
            "Token lengths with the training tokenizer (`over`: rows longer than `max_length`):\n\n"
            + markdown_table(columns, rows)
        )
    dropped, skipped = run.get("dropped_overlong"), run.get("skipped_rows")
    if dropped is not None or skipped is not None:
        parts.append(
            f"Rows dropped as longer than `max_length`: {_scalar(dropped)}; malformed rows skipped: {_scalar(skipped)}."
        )
    git = run.get("git") if isinstance(run.get("git"), dict) else {}
    if git.get("commit"):
        dirty = " (with uncommitted changes)" if git.get("dirty") else ""
        parts.append(f"Trained from commit `{git['commit']}`{dirty}.")
    return "\n\n".join(parts) or None


def _scalar(value: Any) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _dataset_identity(task: str, run: Run, repos: ReleaseRepos) -> tuple[str, str, str | None, str | None]:
    """(dataset id, name, config, split) of what a task scored, from the run's `data` record."""
    data = run.tasks[task].data
    if task == "dacr":
        # DACR-Bench files are read at evaluation time (not a Hub dataset of ours): named by name and version.
        benchmarks = data.get("benchmarks") if isinstance(data.get("benchmarks"), dict) else {}
        names = [
            " ".join(str(part) for part in (name, (info or {}).get("version")) if part)
            for name, info in benchmarks.items()
        ]
        return "dacr-bench", ", ".join(names) or "DACR-Bench", None, None
    configs = data.get("configs")
    config = ",".join(configs) if isinstance(configs, dict) and configs else data.get("config")
    dataset_id = repos.dataset(_TASK_DATASET_KEY[task]) if task in _TASK_DATASET_KEY else task
    return dataset_id, _TASK_DATASET_NAMES.get(task, task), config, data.get("split")


def eval_results(comparisons: list[Comparison], repos: ReleaseRepos) -> list[EvalResult]:
    """One EvalResult per task and metric of the adapter's runs (metrics that were not computed are left out)."""
    results = []
    for comparison in comparisons:
        run = comparison.adapter
        if run is None:
            continue
        dataset_type, dataset_name, config, split = _dataset_identity(comparison.task, run, repos)
        for metric, value in run.tasks[comparison.task].metrics.items():
            if value is None:
                continue
            results.append(
                EvalResult(
                    task_type="text-generation",
                    task_name=task_title(comparison.task),
                    dataset_type=dataset_type,
                    dataset_name=dataset_name,
                    dataset_config=config,
                    dataset_split=split,
                    metric_type=metric,
                    metric_name=metric,
                    metric_value=round(value, 4),
                )
            )
    return results


def _framework_versions(facts: TrainingFacts, comparisons: list[Comparison]) -> str:
    """Versions the training run recorded, else those the adapter's evaluation recorded, else the pins."""
    libraries = (facts.run_metadata or {}).get("libraries")  # train.py's run_metadata.json
    recorded, origin = (libraries, "recorded by the training run") if isinstance(libraries, dict) else (None, None)
    if recorded is None:
        for comparison in comparisons:
            if comparison.adapter is not None:
                libraries = (comparison.adapter.raw.get("versions") or {}).get("libraries")
                if isinstance(libraries, dict):
                    recorded, origin = libraries, f"recorded by the evaluation run `{comparison.adapter.run_id}`"
                    break
    if recorded is None:
        recorded, origin = (
            _pinned_versions(),
            "pinned in the repository's `requirements.txt` (no run recorded its own)",
        )
    rows = [[name, str(recorded[name])] for name in FRAMEWORKS if name in recorded]
    return f"Versions {origin}:\n\n" + markdown_table(["library", "version"], rows)


def _pinned_versions() -> dict[str, str]:
    requirements = REPO_ROOT / "requirements.txt"
    lines = requirements.read_text(encoding="utf-8").splitlines() if requirements.is_file() else []
    pins = (line.split("#", 1)[0].strip() for line in lines)
    return {
        name.strip().lower(): version.strip()
        for name, _, version in (pin.partition("==") for pin in pins if "==" in pin)
    }


def _plots(comparisons: list[Comparison]) -> list[Plot]:
    plots, seen = [], set()
    for comparison in comparisons:
        for run in (comparison.baseline, comparison.adapter):
            if run is None or run.run_id in seen:
                continue
            seen.add(run.run_id)
            for png in run.plots:
                caption = f"{run.label} ({run.run_id}): {png.stem.replace('_', ' ')}"
                plots.append(Plot(caption, f"{PLOTS_DIR}/{run.run_id}/{png.name}", png))
    return plots


def _results_intro(comparisons: list[Comparison], runs: list[Run], base_model: str) -> str:
    measured = [c for c in comparisons if c.adapter is not None]
    if measured:
        return (
            f"Measured by this repository's `evaluate.py`, `{base_model}` alone beside the same model with this adapter "
            "(the latest run of each per task). Values are fractions; 95% bootstrap intervals in brackets; "
            "`difference` is adapter minus base."
        )
    other = (
        f" The {len(runs)} run(s) recorded so far are of other models or of the base model alone, listed under “All recorded runs”."
        if runs
        else ""
    )
    return f"**No evaluation results of this adapter are recorded yet.** Nothing below measures `{base_model}` with this adapter.{other}"


def _comparison_sections(comparisons: list[Comparison]) -> str:
    parts = []
    for comparison in comparisons:
        body = comparison_table(comparison)
        breakdowns = breakdown_tables(comparison, heading_level=4)
        scoring = {
            scoring_label(run.tasks[comparison.task].scoring)
            for run in (comparison.baseline, comparison.adapter)
            if run is not None
        }
        note = f"Scoring: {'; '.join(sorted(scoring))}." if scoring != {NO_VALUE} else ""
        parts.append(
            "\n\n".join(
                p for p in (f"### {task_title(comparison.task)} (`{comparison.task}`)", note, body, breakdowns) if p
            )
        )
    return "\n\n".join(parts)


def build_model_card(runs: list[Run], repos: ReleaseRepos, facts: TrainingFacts) -> tuple[ModelCard, list[Plot]]:
    """The card and the plot files it links to (paths relative to the card's folder)."""
    # A base recorded as a local folder or builtin: model has no Hub id to name: the card is the
    # release's, on the release base (its LoRA table still shows what the run recorded).
    base_model = facts.base_model if is_hub_id(facts.base_model) else RELEASE_BASE_MODEL
    comparisons = release_comparisons(runs, base_model)
    results = eval_results(comparisons, repos)
    mixture_labels = {str(s.get("label")) for s in facts.mixture()}
    datasets = [
        repos.dataset(key) for key in DATASET_REPOS if not mixture_labels or key in mixture_labels
    ] or repos.datasets
    card_data = ModelCardData(
        base_model=base_model,
        library_name="peft",
        pipeline_tag="text-generation",
        language="en",
        license=LICENSE,
        datasets=datasets,
        tags=TAGS,
        model_name=repos.adapter_name,
        eval_results=results or None,
    )
    plots = _plots(comparisons)
    card = ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE),
        title=f"{repos.adapter_name}: CrossTrace reasoning adapter for {base_model.split('/')[-1]}",
        repos=repos,
        lora_summary=_lora_summary(facts, base_model),
        mixture_section=_mixture_section(facts, repos),
        recipe_origin=facts.recipe_origin,
        recipe_yaml=facts.recipe_yaml(),
        recipe_settings=_key_settings(facts),
        recipe_size=len(facts.recipe or {}),
        run_table=_training_run_section(facts, repos),
        results_intro=_results_intro(comparisons, runs, base_model),
        comparison_sections=_comparison_sections(comparisons),
        plots=plots,
        all_runs=all_runs_section(runs, heading_level=4),
        reference=reference_section(heading_level=4),
        framework_versions=_framework_versions(facts, comparisons),
        license_name=LICENSE_NAME,
        **shared_pieces(),
    )
    return card, plots


def write_card(text: str, plots: list[Plot], folder: str | Path) -> Path:
    """README.md plus `plots/<run-id>/*.png` in `folder` (old plots removed: only what the card links)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / PLOTS_DIR).exists():
        shutil.rmtree(folder / PLOTS_DIR)
    for plot in plots:
        target = folder / plot.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot.source, target)
    readme = folder / "README.md"
    readme.write_text(text, encoding="utf-8")
    return readme


def hub_org_of_card(readme: str | Path) -> str | None:
    """The organisation a rendered card names (its first dataset id), to re-render it identically."""
    card = ModelCard.load(readme)
    datasets = card.data.get("datasets") or []
    return datasets[0].split("/", 1)[0] if datasets and "/" in datasets[0] else None


def render_to(out: Path, results_dir: Path, hub_org: str) -> tuple[str, list[Plot]]:
    """The card for `out`, from the runs and the training facts kept beside it (nothing written)."""
    runs, _ = load_runs(results_dir)
    card, plots = build_model_card(runs, ReleaseRepos(hub_org), TrainingFacts.from_card_dir(out.parent))
    return card_text(card), plots


def card_text(card: ModelCard) -> str:
    text = str(card)
    return text if text.endswith("\n") else text + "\n"


@dataclass
class ModelCardArguments:
    results: Path = field(default=REPO_ROOT / DEFAULT_RESULTS_DIR, metadata={"help": "folder of evaluation runs"})
    out: Path = field(default=REPO_ROOT / "model_card" / "README.md", metadata={"help": "the card to write"})
    hub_org: str | None = field(
        default=None,
        metadata={
            "help": f"Hub user or organisation of the release; unset: ${HUB_ORG_ENV}, else the one the existing card names"
        },
    )
    adapter_dir: Path | None = field(
        default=None,
        metadata={"help": "a training output folder: take the LoRA config, resolved recipe and run metadata from it"},
    )
    check: bool = field(
        default=False, metadata={"help": "write nothing; exit 1 when the card differs from a fresh render"}
    )

    def __post_init__(self):
        if self.check and self.adapter_dir is not None:
            raise ValueError("--check compares with the facts already beside the card; it takes no --adapter-dir")


def run(args: ModelCardArguments) -> int:
    existing_org = hub_org_of_card(args.out) if args.out.is_file() else None
    # --check re-renders the card as it stands (its own organisation); a write follows the settings.
    preferred = (
        (existing_org, os.environ.get(HUB_ORG_ENV)) if args.check else (os.environ.get(HUB_ORG_ENV), existing_org)
    )
    hub_org = resolve_hub_org(args.hub_org or preferred[0] or preferred[1])
    if args.adapter_dir is not None:
        # Keep the run's facts beside the card, then render from those copies exactly as
        # every later re-render (and the sync test) will.
        TrainingFacts.from_training_dir(args.adapter_dir).write_copies(args.out.parent)
    text, plots = render_to(args.out, args.results, hub_org)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(
                f"{args.out} is out of date; re-render it with: python -m crosstrace.publish.model_card --out {args.out}",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} is up to date")
        return 0
    readme = write_card(text, plots, args.out.parent)
    print(f"wrote {readme} ({len(plots)} plot(s))")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        ModelCardArguments,
        run,
        argv,
        prog="python -m crosstrace.publish.model_card",
        description=__doc__,
        errors=(DataError, HubOrgError),
    )


if __name__ == "__main__":
    sys.exit(main())
