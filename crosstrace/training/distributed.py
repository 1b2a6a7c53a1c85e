"""Which distributed mode a training run actually runs, and refusing launches that are not one job.

Launchers can fail quietly. With accelerate 1.15 on a machine without GPUs, an FSDP config runs
as plain DDP (the FSDP plugin is only honoured for GPU-like devices), and a multi-GPU config with
`use_cpu: false` starts several processes that never join a process group: each trains alone and
all of them write the same output folder. So a run records what it got (distributed type,
processes, whether they form one group, what the launcher asked for) and stops before loading
anything when the launcher's environment promises several processes that are not one group.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

# What `accelerate launch` exports for a config asking for one of these modes.
REQUESTED_BY_ENV = {"ACCELERATE_USE_FSDP": "FSDP", "ACCELERATE_USE_DEEPSPEED": "DEEPSPEED"}


class LaunchError(RuntimeError):
    """The processes of this launch do not form one training job."""


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    return int(value) if value not in (None, "") else None


def requested_mode(env: Mapping[str, str]) -> str | None:
    """FSDP / DEEPSPEED when the launcher asked for them, else None (plain data parallel or none)."""
    for variable, mode in REQUESTED_BY_ENV.items():
        if env.get(variable, "false").lower() == "true":
            return mode
    return None


def process_group_setup(state, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the launcher promised (env) against what accelerate's state `state` has (a PartialState)."""
    import torch.distributed as dist

    env = os.environ if env is None else env
    group = dist.is_available() and dist.is_initialized()
    return {
        "distributed_type": str(getattr(state.distributed_type, "value", state.distributed_type)),
        "num_processes": int(state.num_processes),
        "process_group": bool(group),
        "process_group_size": dist.get_world_size() if group else None,
        "launcher_world_size": _env_int(env, "WORLD_SIZE"),
        "launcher_local_rank": _env_int(env, "LOCAL_RANK"),
        "requested_mode": requested_mode(env),
    }


def check_one_group(setup: dict[str, Any]) -> None:
    """Raise LaunchError when the launcher started several processes that are not one group of that size."""
    world = setup["launcher_world_size"]
    if world is not None and world > 1 and setup["num_processes"] != world:
        raise LaunchError(
            f"the launcher started WORLD_SIZE={world} processes but this one trains alone "
            f"(accelerate sees {setup['num_processes']} process, distributed type {setup['distributed_type']}): "
            "every process would train its own copy and write the same output_dir. On a machine without GPUs "
            "set `use_cpu: true` in the recipe (two CPU ranks over gloo); on GPUs check that each process sees one."
        )
    if setup["launcher_local_rank"] is not None and not setup["process_group"] and (world or 1) > 1:
        raise LaunchError(
            f"LOCAL_RANK={setup['launcher_local_rank']} is set but no process group was formed: "
            "launch with `accelerate launch` or `torchrun`, or unset LOCAL_RANK for a single-process run."
        )
    if setup["process_group"] and setup["process_group_size"] != setup["num_processes"]:
        raise LaunchError(
            f"the process group has {setup['process_group_size']} members but accelerate counts "
            f"{setup['num_processes']} processes: relaunch with matching --num_processes."
        )


def ran_mode(setup: dict[str, Any], accelerator) -> dict[str, Any]:
    """`setup` completed with the mode the trainer's Accelerator runs, and a note when it is not the one asked for."""
    ran = str(getattr(accelerator.distributed_type, "value", accelerator.distributed_type))
    result = {**setup, "distributed_type": ran, "num_processes": int(accelerator.num_processes)}
    requested = setup["requested_mode"]
    if requested is not None and requested != ran:
        result["note"] = (
            f"the launcher asked for {requested} but accelerate runs {ran} "
            "(accelerate 1.15 honours FSDP/DeepSpeed only on GPU-like devices)"
        )
        logger.warning("distributed: %s", result["note"])
    return result


def log_setup(setup: dict[str, Any]) -> None:
    logger.info(
        "distributed: %s, %d process(es), process group: %s",
        setup["distributed_type"],
        setup["num_processes"],
        f"yes ({setup['process_group_size']})" if setup["process_group"] else "no",
    )


def launch_setup(training_args, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Detect, log and check this process's launch (raises LaunchError); the result goes to run_metadata.json."""
    from accelerate import PartialState

    _ = training_args.device  # builds accelerate's PartialState from the arguments (use_cpu, ddp_backend)
    setup = process_group_setup(PartialState(), env)
    log_setup(setup)
    check_one_group(setup)
    return setup
