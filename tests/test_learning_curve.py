"""The learning curve (`evaluate.py curve`): checkpoints evaluated resumably, ends reused, decoding checked.

A fake backend stands in for the model and a fake embedding for all-MiniLM-L6-v2 (no weights
load), on the project's fixture records, so these tests cost a second or two.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crosstrace import embeddings
from crosstrace.errors import DataError
from crosstrace.evaluation import learning_curve, pipeline
from crosstrace.evaluation.arguments import CurveArguments, EvalArguments
from crosstrace.evaluation.backends import Generation
from crosstrace.evaluation.runner import read_generations
from crosstrace.results_schema import CURVE_JSON_NAME, CURVE_PNG_NAME

COMPLIANT = "Core insight: an idea\n\nReasoning:\n1. one\n2. two\n3. three\n\nHypothesis: a claim\n\nApproach: a test"


class FakeBackend:
    """Writes a compliant answer for adapters, plain text for the base model; can be 'killed' mid-run."""

    name = "fake"
    batch_invariant = False  # like hf: a partial batch is regenerated whole, only its missing answers appended
    context_length = None
    token_count = "exact"

    def __init__(self, adapter: str | None, log: list[tuple[str | None, int]], kill_at_call: int | None):
        self.adapter, self.log, self.kill_at_call = adapter, log, kill_at_call

    def count_tokens(self, messages):
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, batch, seeds):
        if self.kill_at_call is not None and len(self.log) >= self.kill_at_call:
            raise KeyboardInterrupt("killed")  # what an interrupted demo looks like from inside
        self.log.append((self.adapter, len(batch)))
        text = COMPLIANT if self.adapter else "Plain prose with no sections."
        return [Generation(text, "stop", 5) for _ in batch]

    def describe(self):
        return {"tokenizer": "fake"}


@pytest.fixture
def fake_backend(monkeypatch):
    """Installs the fake; returns (call log, setter of the call at which the next run is killed)."""
    log: list[tuple[str | None, int]] = []
    kill: dict[str, int | None] = {"at": None}
    monkeypatch.setattr(pipeline, "create_backend", lambda args: FakeBackend(args.adapter, log, kill["at"]))
    monkeypatch.setattr(embeddings, "cosine", lambda a, b: np.full(len(a), 0.5))  # the similarity is not tested here
    return log, kill


@pytest.fixture
def release(fixtures_dir) -> Path:
    return fixtures_dir / "crosstrace" / "release"


def _training_dir(root: Path) -> Path:
    """What train.py leaves: checkpoints at steps 2 and 4 (one cut short), the final adapter at step 6."""
    folder = root / "outputs"
    for step in (2, 4, 6):
        checkpoint = folder / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            (checkpoint / name).write_text("{}")
    (folder / "checkpoint-5").mkdir()  # killed while saving: no adapter files, passed over
    history = [{"step": s, "loss": 3.0 - 0.3 * s, "num_tokens": 1000 * s} for s in range(1, 7)]
    (folder / "trainer_state.json").write_text(
        json.dumps({"global_step": 6, "num_train_epochs": 2, "log_history": history})
    )
    (folder / "train_results.json").write_text(json.dumps({"train_loss": 1.9, "train_samples": 12}))
    return folder


def _settings(release: Path) -> dict:
    return {
        "model": "fake-model",
        "tasks": "crosstrace",
        "crosstrace_data": str(release),
        "crosstrace_configs": "all",
        "max_samples": 3,
        "batch_size": 2,
        "max_new_tokens": 16,
        "bootstrap": 50,
        "plots": False,
    }


def _ends(root: Path, release: Path, training: Path) -> tuple[Path, Path]:
    baseline, final = root / "runs" / "baseline", root / "runs" / "final"
    pipeline.run_evaluation(EvalArguments(**_settings(release), output_dir=str(baseline), run_id="base"))
    pipeline.run_evaluation(
        EvalArguments(**_settings(release), adapter=str(training), output_dir=str(final), run_id="final")
    )
    return baseline, final


def _curve_args(release: Path, training: Path, baseline: Path, final: Path, **overrides) -> CurveArguments:
    return CurveArguments(
        **{**_settings(release), **overrides},
        training_dir=str(training),
        curve_dir=str(training.parent / "record"),
        baseline_run=str(baseline),
        final_run=str(final),
    )


def test_an_interrupted_curve_resumes_without_generating_any_answer_twice(tmp_path, release, fake_backend):
    log, kill = fake_backend
    training = _training_dir(tmp_path)
    baseline, final = _ends(tmp_path, release, training)
    ends_calls = len(log)
    args = _curve_args(release, training, baseline, final)

    kill["at"] = ends_calls + 3  # step 2's two batches, then step 4's first: killed during step 4's second
    with pytest.raises(KeyboardInterrupt):
        learning_curve.run_curve(args)
    step4 = training / learning_curve.POINTS_DIR / "step-00004" / "generations" / "crosstrace.jsonl"
    assert len(read_generations(step4)) == 2  # its first batch was on disk before the kill

    kill["at"] = None
    learning_curve.run_curve(args)
    resumed = log[ends_calls + 3 :]
    assert resumed == [(str(training / "checkpoint-4"), 1)]  # only step 4's one missing answer
    for step in ("step-00002", "step-00004"):
        lines = (training / learning_curve.POINTS_DIR / step / "generations" / "crosstrace.jsonl").read_text()
        ids = [json.loads(line)["id"] for line in lines.splitlines()]
        assert len(ids) == 3 and len(set(ids)) == 3  # every record once
    assert not (training / learning_curve.POINTS_DIR / "step-00006").exists()  # the final run is the last point

    curve = json.loads((tmp_path / "record" / CURVE_JSON_NAME).read_text())
    assert [(p["step"], p["role"]) for p in curve["points"]] == [
        (0, "base model"),
        (2, "checkpoint"),
        (4, "checkpoint"),
        (6, "final adapter"),
    ]
    assert [p["compliance"] for p in curve["points"]] == [0.0, 1.0, 1.0, 1.0]
    assert [p["tokens"] for p in curve["points"]] == [0, 2000, 4000, 6000]
    assert curve["training"] == {
        "steps": 6,
        "epochs": 2,
        "tokens": 6000,
        "train_loss": 1.9,
        "train_runtime_seconds": None,
        "rows": 12,
    }
    assert curve["decoding"]["max_new_tokens"] == 16 and len(curve["loss"]) == 6
    assert (tmp_path / "record" / CURVE_PNG_NAME).read_bytes().startswith(b"\x89PNG")


def test_a_curve_refuses_ends_decoded_differently(tmp_path, release, fake_backend):
    training = _training_dir(tmp_path)
    baseline, final = _ends(tmp_path, release, training)
    args = _curve_args(release, training, baseline, final, max_new_tokens=32)
    with pytest.raises(DataError, match="decoded alike"):
        learning_curve.run_curve(args)
