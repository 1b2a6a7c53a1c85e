"""What the model card says about training: the LoRA configuration, the resolved recipe, the run.

They come from a training output folder (`train.py` writes the adapter, the resolved recipe and
the run metadata there) or, once a card has been rendered from one, from the copies kept beside
the card in `model_card/`, so the card re-renders from the repository alone. Local paths are
stripped from both copies before anything is shown or published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crosstrace.errors import DataError
from crosstrace.jsonio import dumps, read_json_object
from crosstrace.paths import REPO_ROOT
from crosstrace.sanitize import strip_local_paths

ADAPTER_CONFIG = "adapter_config.json"
# What `train.py` writes beside the adapter (see its docstring); the same names are used for the
# copies kept beside a rendered card and in the published adapter repository.
RECIPE = "recipe.yaml"
RUN_METADATA = "run_metadata.json"
TRAIN_RESULTS = "train_results.json"
# The committed release recipe, shown when no training run has been recorded yet.
RELEASE_RECIPE = REPO_ROOT / "recipes" / "qwen2.5-7b-qlora.yaml"
RESOLVED = "the resolved recipe of the training run that produced this adapter"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(path, mark.line + 1 if mark else None, None, f"not valid YAML: {exc}") from exc
    if not isinstance(value, dict):
        raise DataError(path, None, None, "expected a YAML mapping (a recipe)")
    return value


def release_output_dir() -> str | None:
    """Where the committed release recipe trains to (its `output_dir`), if it names one."""
    if not RELEASE_RECIPE.is_file():
        return None
    output_dir = _load_yaml(RELEASE_RECIPE).get("output_dir")
    return str(output_dir) if output_dir else None


def _optional_json(path: Path) -> dict[str, Any] | None:
    return read_json_object(path) if path.is_file() else None


@dataclass(frozen=True)
class TrainingFacts:
    adapter_config: dict[str, Any] | None
    recipe: dict[str, Any] | None
    # Where the recipe comes from, said in the card: a run's resolved recipe or the committed one.
    recipe_origin: str
    run_metadata: dict[str, Any] | None
    train_results: dict[str, Any] | None = None
    # How many local paths were replaced in what was read (reported by the stage).
    paths_stripped: int = 0

    @classmethod
    def from_training_dir(cls, folder: str | Path) -> TrainingFacts:
        """From `train.py`'s output folder (adapter_config.json, recipe.yaml, run_metadata.json, train_results.json)."""
        folder = Path(folder)
        if not (folder / ADAPTER_CONFIG).is_file():
            raise DataError(
                folder,
                None,
                ADAPTER_CONFIG,
                "not a PEFT adapter folder (no adapter_config.json); pass train.py's output_dir",
            )
        stripped = 0

        def clean(value: Any) -> Any:
            nonlocal stripped
            value, n = strip_local_paths(value)
            stripped += n
            return value

        recipe = clean(_load_yaml(folder / RECIPE)) if (folder / RECIPE).is_file() else None
        return cls(
            adapter_config=clean(read_json_object(folder / ADAPTER_CONFIG)),
            recipe=recipe,
            recipe_origin=RESOLVED if recipe else f"not recorded: the training folder has no {RECIPE}",
            run_metadata=clean(_optional_json(folder / RUN_METADATA)),
            train_results=clean(_optional_json(folder / TRAIN_RESULTS)),
            paths_stripped=stripped,
        )

    @classmethod
    def from_card_dir(cls, folder: str | Path) -> TrainingFacts:
        """From the copies beside a rendered card; the committed release recipe when there are none."""
        folder = Path(folder)
        adapter_config, run, train_results = (
            _optional_json(folder / name) for name in (ADAPTER_CONFIG, RUN_METADATA, TRAIN_RESULTS)
        )
        if (folder / RECIPE).is_file():
            return cls(adapter_config, _load_yaml(folder / RECIPE), RESOLVED, run, train_results)
        if RELEASE_RECIPE.is_file():
            relative = RELEASE_RECIPE.relative_to(REPO_ROOT).as_posix()
            origin = (
                f"`{relative}`, the release recipe as committed (no training run is recorded beside this card yet)"
            )
            return cls(adapter_config, strip_local_paths(_load_yaml(RELEASE_RECIPE))[0], origin, run, train_results)
        return cls(
            adapter_config,
            None,
            "not available: no training run is recorded and no release recipe is committed",
            run,
            train_results,
        )

    def copies(self) -> dict[str, str]:
        """The facts as files (already stripped), by name: what is kept beside a card and published with the adapter."""
        files = {}
        if self.adapter_config is not None:
            files[ADAPTER_CONFIG] = json.dumps(self.adapter_config, indent=2, sort_keys=True) + "\n"
        if self.recipe is not None and self.recipe_origin == RESOLVED:
            files[RECIPE] = self.recipe_yaml()
        for name, value in ((RUN_METADATA, self.run_metadata), (TRAIN_RESULTS, self.train_results)):
            if value is not None:
                files[name] = dumps(value, indent=2, sort_keys=True) + "\n"
        return files

    def write_copies(self, folder: str | Path) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return [_write(folder / name, text) for name, text in self.copies().items()]

    def recipe_yaml(self) -> str:
        return yaml.safe_dump(self.recipe, sort_keys=False, allow_unicode=True) if self.recipe else ""

    @property
    def base_model(self) -> str | None:
        return (self.adapter_config or {}).get("base_model_name_or_path") or None

    def mixture(self) -> list[dict[str, Any]]:
        """The training mixture: as the run resolved it (run_metadata.json `mixture`, every field
        filled in), else the recipe's `mixture:` entries as written; empty when neither has one."""
        sources = (self.run_metadata or {}).get("mixture") or (self.recipe or {}).get("mixture")
        return [s for s in sources if isinstance(s, dict)] if isinstance(sources, list) else []


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
