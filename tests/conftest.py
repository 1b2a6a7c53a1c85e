"""Shared fixtures. Tests run offline on CPU; third-party data is read from ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts import load_script

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


@pytest.fixture(scope="session")
def evaluate_script():
    """evaluate.py, loaded from its path: `import evaluate` would find Hugging Face's `evaluate` library instead."""
    return load_script("evaluate.py")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy shared CI machine OpenMP threads waiting
    on each other made generation ~3x slower; restored afterwards for other tests. Modules opt in
    with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def real_server(tmp_path_factory):
    """A real OpenAI-compatible server (`transformers serve`) with a tiny Qwen2 model, started once per
    session on a free port of 127.0.0.1; yields `RealServer(base_url, model)`, where `model` is also the
    served folder (for the hf backend); its process group is killed at the end (tests/real_server.py)."""
    from real_server import start_server, write_talkative_tiny_model

    from crosstrace.models import resolve_model_path

    workdir = tmp_path_factory.mktemp("real-server")
    model_dir = write_talkative_tiny_model(Path(resolve_model_path("builtin:tiny-qwen2")), workdir / "model")
    yield from start_server(model_dir, workdir)
