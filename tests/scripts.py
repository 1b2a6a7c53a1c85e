"""The repository's entry-point scripts loaded from their paths, once per test session, and the
console scripts of installed packages the tests run.

`import train` would need the root on sys.path and `import evaluate` finds Hugging Face's `evaluate`
library instead, so tests load the files themselves; every test module gets the same module object.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

from crosstrace.paths import REPO_ROOT


def load_script(filename: str) -> ModuleType:
    """The script at `filename` (relative to the repository root, e.g. `train.py`, `bench/bench_rewards.py`)."""
    name = f"{Path(filename).stem}_script"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / filename)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file executes
        spec.loader.exec_module(module)
    return sys.modules[name]


def installed_command(name: str) -> str | None:
    """The path of a package's console script (`lm_eval`, `transformers`, `ruff`): beside the
    interpreter running the tests first, so `.venv/bin/python -m pytest` finds the venv's own
    without the venv being activated, then on PATH; None when neither has it."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)
