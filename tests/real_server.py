"""A real OpenAI-compatible server for tests: `transformers serve` on 127.0.0.1 with a local model.

`transformers serve` (transformers[serving], requirements-dev.txt) answers one request at a time
and its greedy outputs equal `generate`'s, so a run through it can be checked against the hf
backend token for token. It runs in its own process group, killed as a whole at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import installed_command

# Loading torch and the model took 26 s on 2 busy cores; a minute and a half leaves room for load.
STARTUP_TIMEOUT_S = 90


@dataclass(frozen=True)
class RealServer:
    base_url: str  # the /v1 root, as `--base_url` takes it
    model: str  # the name requests must carry: the served folder
    process: ServerProcess  # to kill it mid-run and start it again on the same port


def write_talkative_tiny_model(source: Path, target: Path) -> Path:
    """The tiny CI model with its weights redrawn (seeded, wider than the default init) into `target`.

    The CI model as built writes nothing but newlines under greedy decoding, and the server strips
    them, so the two backends would only be compared on empty strings. These weights write varied
    tokens, so an equal output is evidence of equal decoding."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(source)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(root: str) -> bool:
    # /v1/models (not only /health): it fails with 500 when the server cannot list its cache.
    try:
        with urllib.request.urlopen(f"{root}/v1/models", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class ServerProcess:
    """`transformers serve model_dir` on one free port of 127.0.0.1, in its own process group:
    `start()` returns once it answers, `kill()` is SIGKILL to the group (a crash), and `start()`
    again serves on the same port, as a restarted server would."""

    def __init__(self, model_dir: Path, workdir: Path):
        self.executable = installed_command("transformers")
        if self.executable is None:
            pytest.fail(
                "the `transformers` command is missing: pip install -r requirements-dev.txt (transformers[serving])"
            )
        hub_cache = workdir / "hub-cache"  # must exist and be writable, or /v1/models answers 500
        hub_cache.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache), "OMP_NUM_THREADS": "1"}
        self.model_dir, self.log_path = model_dir, workdir / "server.log"
        self.root = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        port = self.root.rsplit(":", 1)[1]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [
                    self.executable,
                    "serve",
                    str(self.model_dir),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    port,
                    "--device",
                    "cpu",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _ready(self.root):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(
                    f"transformers serve did not start in {STARTUP_TIMEOUT_S} s:\n{self.log_path.read_text()[-3000:]}"
                )
            time.sleep(0.3)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()


def start_server(model_dir: Path, workdir: Path):
    """Start `transformers serve model_dir`; yield a RealServer once it answers; kill its group after."""
    process = ServerProcess(model_dir, workdir)
    try:
        process.start()
        yield RealServer(base_url=f"{process.root}/v1", model=str(model_dir), process=process)
    finally:
        process.kill()
