"""Resumable generation and the long-document policy, with a fake backend (no model)."""

from __future__ import annotations

import json

import pytest

from crosstrace.errors import DataError
from crosstrace.evaluation.backends import Generation
from crosstrace.evaluation.backends.base import stream_in_batches
from crosstrace.evaluation.prompts import TRUNCATION_MARK, Prompt, fit_to_context
from crosstrace.evaluation.runner import generate_all, prompt_seed, read_generations


class FakeBackend:
    """Output = prompt text and seed; a batch-sensitive fake also writes its batch's prompts in every
    output, as padding does to real numerics: any change of batch composition shows."""

    name = "fake"
    context_length = None
    token_count = "exact"

    def __init__(self, batch_invariant: bool, fail_after_calls: int | None = None):
        self.batch_invariant = batch_invariant
        self.fail_after_calls = fail_after_calls
        self.calls: list[list[str]] = []

    def count_tokens(self, messages):
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, batch, seeds):
        if self.fail_after_calls is not None and len(self.calls) >= self.fail_after_calls:
            raise KeyboardInterrupt("killed")  # what an interrupted run looks like from inside
        contents = [m[-1]["content"] for m in batch]
        self.calls.append(contents)
        batch_mark = "" if self.batch_invariant else " <batch " + "|".join(contents) + ">"
        return [Generation(f"{c}{batch_mark} seed {s}", "stop", 3) for c, s in zip(contents, seeds, strict=True)]

    def generate_stream(self, batch, seeds, batch_size):
        return stream_in_batches(self.generate, batch, seeds, batch_size)


def _prompts(n: int) -> list[Prompt]:
    # Different lengths, so the longest-first batch order differs from the id order.
    return [
        Prompt(
            id=f"p{i:02d}", messages=[{"role": "user", "content": f"q{i} " + "w " * (i % 4)}], prompt_tokens=1 + i % 4
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("batch_invariant", [False, True])
def test_interrupted_then_resumed_run_equals_uninterrupted_run(tmp_path, batch_invariant):
    prompts = _prompts(11)
    reference = generate_all(
        "t", prompts, FakeBackend(batch_invariant), tmp_path / "ref.jsonl", batch_size=3, seed=7
    ).records

    path = tmp_path / "run.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate_all("t", prompts, FakeBackend(batch_invariant, fail_after_calls=2), path, batch_size=3, seed=7)
    assert len(read_generations(path)) == 6  # two batches of three were saved before the kill
    resumed_backend = FakeBackend(batch_invariant)
    resumed = generate_all("t", prompts, resumed_backend, path, batch_size=3, seed=7).records

    assert resumed == reference
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert sorted(ids) == sorted(p.id for p in prompts) and len(ids) == len(set(ids))  # none twice
    assert sum(len(call) for call in resumed_backend.calls) == 5  # only the five missing prompts


def test_batch_sensitive_backend_regenerates_the_whole_partial_batch(tmp_path):
    prompts = _prompts(6)
    path = tmp_path / "g.jsonl"
    reference = generate_all("t", prompts, FakeBackend(False), tmp_path / "ref.jsonl", batch_size=3, seed=0).records
    # Keep one line of the first batch only, as if the kill came between two appends.
    first_line = (tmp_path / "ref.jsonl").read_text().splitlines()[0]
    path.write_text(first_line + "\n")
    backend = FakeBackend(False)
    assert generate_all("t", prompts, backend, path, batch_size=3, seed=0).records == reference
    assert [len(call) for call in backend.calls] == [3, 3]  # the partial batch ran whole, as before


def test_torn_last_line_is_cut_and_regenerated(tmp_path):
    prompts = _prompts(4)
    path = tmp_path / "g.jsonl"
    reference = generate_all("t", prompts, FakeBackend(True), tmp_path / "ref.jsonl", batch_size=2, seed=1).records
    lines = (tmp_path / "ref.jsonl").read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:25])  # killed in the middle of writing line 2
    with pytest.raises(DataError, match="incomplete"):
        read_generations(path)
    assert generate_all("t", prompts, FakeBackend(True), path, batch_size=2, seed=1).records == reference
    assert len(path.read_text().splitlines()) == 4


def test_resuming_with_different_prompts_is_refused(tmp_path):
    path = tmp_path / "g.jsonl"
    generate_all("t", _prompts(2), FakeBackend(True), path, batch_size=2, seed=0)
    changed = [Prompt(id="p00", messages=[{"role": "user", "content": "another prompt"}])]
    with pytest.raises(DataError, match="different prompt"):
        generate_all("t", changed, FakeBackend(True), path, batch_size=2, seed=0)


def test_damaged_middle_line_names_file_and_line(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text('{"id": "a", "output": "x"}\nnot json\n{"id": "b", "output": "y"}\n')
    with pytest.raises(DataError, match=r"g\.jsonl:2"):
        read_generations(path, repair=True)


def test_seed_depends_on_run_seed_and_id_only():
    assert prompt_seed(1, "a") == prompt_seed(1, "a")
    assert prompt_seed(1, "a") != prompt_seed(2, "a") != prompt_seed(1, "b")


# ----------------------------------------------------------------------------- context policy


def _count_words(messages):
    return sum(len(m["content"].split()) for m in messages)


def _document_prompt(pid: str, words: int) -> Prompt:
    document = " ".join(f"w{i}" for i in range(words))

    def build(text: str):
        return [{"role": "user", "content": f"Question about: {text}"}]

    return Prompt(id=pid, messages=build(document), document=document, with_document=build)


def test_skip_policy_counts_prompts_over_the_context():
    prompts = [
        _document_prompt("short", 10),
        _document_prompt("long", 500),
        Prompt(id="plain", messages=[{"role": "user", "content": "x " * 300}]),
    ]
    kept, report = fit_to_context(prompts, _count_words, max_context_tokens=120, max_new_tokens=20, policy="skip")
    assert [p.id for p in kept] == ["short"] and kept[0].prompt_tokens == 12
    assert sorted(s["id"] for s in report.skipped) == ["long", "plain"]
    assert report.to_dict()["skipped_count"] == 2 and report.to_dict()["truncated_count"] == 0


def test_truncate_policy_shortens_the_document_to_fit_and_says_so():
    prompts = [_document_prompt("long", 500), Prompt(id="plain", messages=[{"role": "user", "content": "x " * 300}])]
    kept, report = fit_to_context(prompts, _count_words, max_context_tokens=120, max_new_tokens=20, policy="truncate")
    assert [p.id for p in kept] == ["long"]
    (long_prompt,) = kept
    assert long_prompt.prompt_tokens <= 100
    assert long_prompt.prompt_tokens >= 95  # as much of the document as fits is kept
    assert long_prompt.messages[0]["content"].endswith(TRUNCATION_MARK)
    assert " w9" in long_prompt.messages[0]["content"] and "w499" not in long_prompt.messages[0]["content"]
    assert [t["id"] for t in report.truncated] == ["long"]
    assert [s["id"] for s in report.skipped] == ["plain"]  # nothing to shorten: skipped, and counted


def test_unknown_context_is_reported_unchecked():
    kept, report = fit_to_context(
        [_document_prompt("a", 1000)], _count_words, None, 20, "skip", token_count="estimated"
    )
    assert len(kept) == 1 and report.to_dict()["checked"] is False


def test_no_room_for_the_answer_is_an_error():
    with pytest.raises(ValueError, match="no room"):
        fit_to_context([], _count_words, max_context_tokens=100, max_new_tokens=100, policy="skip")
