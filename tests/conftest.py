"""Shared fixtures. Tests run offline on CPU; third-party data is read from ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No Hub access at test time: a Hub id would otherwise wait ~46 s before failing.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from crosstrace import paths

FIXTURES = Path(__file__).resolve().parent / "fixtures"

_ABSENT = "../shared/data is absent (set CROSSTRACE_SHARED_DATA to a copy of the public releases to run this test)"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def crosstrace_release() -> Path:
    """The public CrossTrace release folder; skips the test when it is not on this machine."""
    folder = paths.crosstrace_release_dir()
    if folder is None:
        pytest.skip(_ABSENT)
    return folder


@pytest.fixture(scope="session")
def dacr_mini() -> Path:
    """DACR-Bench v1.1 mini; skips the test when it is not on this machine."""
    path = paths.dacr_bench_mini_file()
    if path is None:
        pytest.skip(_ABSENT)
    return path
