"""Run a command that starts processes of its own (a launcher and its ranks, a shell script and
its Python steps) so that a timeout kills all of them: one left behind can wait forever."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest


def run_or_fail(
    command: list[str], cwd: Path, env: dict[str, str], timeout: int, what: str
) -> subprocess.CompletedProcess:
    """Run `command` in its own process group; on `timeout` kill the whole group and fail the test."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{what} did not finish in {timeout} s:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
