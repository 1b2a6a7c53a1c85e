"""Run a script or module and kill -9 the process at the Nth call of one function: a real SIGKILL
at a point chosen exactly, for the interruption tests. Tests only: no production code carries a hook.

    python tests/kill_inside.py transformers.trainer:Trainer._save_rng_state 2 train.py --config recipes/smoke.yaml
    python tests/kill_inside.py pyarrow.parquet:write_table 2 -m crosstrace.builders dacr-traces --n 8 --out x
"""

from __future__ import annotations

import importlib
import os
import runpy
import signal
import sys


def kill_at_call(target: str, nth: int) -> None:
    """Replace `module:attribute.path` by a wrapper whose `nth` call SIGKILLs this process."""
    module_name, attribute_path = target.split(":")
    owner = importlib.import_module(module_name)
    *parents, name = attribute_path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)
    calls = 0

    def wrapper(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def main() -> None:
    target, nth, *command = sys.argv[1:]
    kill_at_call(target, int(nth))
    if command[0] == "-m":
        sys.argv = command[1:]
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = command
        sys.path.insert(0, os.path.dirname(os.path.abspath(command[0])))
        runpy.run_path(command[0], run_name="__main__")


if __name__ == "__main__":
    main()
