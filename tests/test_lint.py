"""The linter and the formatter are part of the test run, so CI enforces the configuration in pyproject.toml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts import installed_command

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_ruff_check_is_clean():
    ruff = installed_command("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with requirements-dev.txt)")
    done = subprocess.run([ruff, "check", "--no-cache", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_format_is_clean():
    ruff = installed_command("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with requirements-dev.txt)")
    done = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, "run `ruff format .`:\n" + done.stdout[-4000:]
