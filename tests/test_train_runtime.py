"""What a training run records about how it ran: the attention kernel, TRL's resolved settings, the launch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crosstrace.training.attention import resolve_attn_implementation
from crosstrace.training.distributed import LaunchError, check_one_group, process_group_setup, ran_mode
from crosstrace.training.effective import apply_to_recipe


@pytest.mark.parametrize(
    ("requested", "flash", "expected"),
    [
        ("auto", True, "flash_attention_2"),
        ("auto", False, "sdpa"),
        ("eager", True, "eager"),  # an explicit choice is kept
        (None, False, None),  # transformers' own default
    ],
)
def test_auto_attention_prefers_flash_attention_when_it_imports(requested, flash, expected):
    resolved, reason = resolve_attn_implementation(requested, flash_available=flash)
    assert resolved == expected and reason


def test_the_recipe_records_what_ran_not_what_was_asked():
    recipe = {"padding_free": False, "packing_strategy": "bfd", "attn_implementation": "auto"}
    ran = apply_to_recipe(recipe, {"padding_free": True, "attn_implementation": "sdpa", "not_a_recipe_key": 1})
    assert ran == {"padding_free": True, "packing_strategy": "bfd", "attn_implementation": "sdpa"}


def _state(distributed_type="NO", num_processes=1):
    return SimpleNamespace(distributed_type=SimpleNamespace(value=distributed_type), num_processes=num_processes)


def test_a_single_process_run_passes():
    setup = process_group_setup(_state(), env={})
    check_one_group(setup)
    assert setup["process_group"] is False and setup["requested_mode"] is None


def test_processes_that_each_train_alone_are_refused():
    # accelerate 1.15, a multi-GPU config with use_cpu: false on a machine without GPUs: two processes, no group
    setup = process_group_setup(_state(), env={"WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    with pytest.raises(LaunchError, match="WORLD_SIZE=2"):
        check_one_group(setup)


def test_local_rank_without_a_group_is_refused():
    setup = {
        "distributed_type": "NO",
        "num_processes": 1,
        "process_group": False,
        "process_group_size": None,
        "launcher_world_size": 2,
        "launcher_local_rank": 0,
        "requested_mode": None,
    }
    with pytest.raises(LaunchError, match=r"WORLD_SIZE=2|LOCAL_RANK=0"):
        check_one_group(setup)
    check_one_group({**setup, "launcher_world_size": None})  # a stray LOCAL_RANK alone: a single process, allowed


def test_fsdp_run_as_ddp_is_recorded():
    # what accelerate 1.15 does with recipes/accelerate/fsdp.yaml on CPU ranks: ACCELERATE_USE_FSDP is set, DDP runs
    setup = process_group_setup(_state("MULTI_CPU", 1), env={"ACCELERATE_USE_FSDP": "true"})
    ran = ran_mode(setup, SimpleNamespace(distributed_type=SimpleNamespace(value="MULTI_CPU"), num_processes=2))
    assert ran["requested_mode"] == "FSDP" and ran["distributed_type"] == "MULTI_CPU" and ran["num_processes"] == 2
    assert "asked for FSDP but accelerate runs MULTI_CPU" in ran["note"]
    same = ran_mode(setup | {"requested_mode": "FSDP"}, SimpleNamespace(distributed_type="FSDP", num_processes=2))
    assert "note" not in same
