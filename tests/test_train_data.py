"""The training mixture (layouts, weights, determinism, the upstream balanced mix) and the length report."""

from __future__ import annotations

import pytest

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.tokenization import load_qwen25_tokenizer
from crosstrace.training.length import (
    OverlongError,
    add_token_lengths,
    enforce_max_length,
    length_report,
    suggest_max_length,
)
from crosstrace.training.mixture import MixtureSource, build_mixture, parse_sources, sample_indices, upstream_balanced


@pytest.fixture(scope="module")
def train_fixtures(fixtures_dir):
    return fixtures_dir / "train"


def source(train_fixtures, label, filename, **extra):
    return MixtureSource(label=label, path="json", data_files=str(train_fixtures / filename), **extra)


def test_layouts_become_prompt_completion(train_fixtures):
    mixture = build_mixture(
        [
            source(train_fixtures, "chat", "crosstrace_chat.jsonl"),
            source(train_fixtures, "traces", "dacr_traces.jsonl"),
            source(train_fixtures, "mcq", "mcq.jsonl"),
        ],
        seed=0,
    )
    assert {r.label: r.layout for r in mixture.reports} == {
        "chat": "messages",
        "traces": "prompt_completion",
        "mcq": "mcq",
    }
    for row in mixture.dataset:
        assert [m["role"] for m in row["completion"]] == ["assistant"]
        assert row["prompt"][-1]["role"] == "user"
        if row["source"] == "chat":
            assert [m["role"] for m in row["prompt"]] == ["system", "user"]
            assert row["completion"][0]["content"].startswith("Core insight: ")
        if row["source"] == "mcq":
            assert row["completion"][0]["content"] in ("Answer: A", "Answer: C")
            assert "J. " in row["prompt"][0]["content"]  # all ten options shown


def test_weights_and_determinism(train_fixtures):
    sources = [
        source(train_fixtures, "chat", "crosstrace_chat.jsonl", weight=0.5),
        source(train_fixtures, "traces", "dacr_traces.jsonl", weight=2.0),
    ]
    first = build_mixture(sources, seed=1)
    assert {r.label: (r.available, r.used) for r in first.reports} == {"chat": (8, 4), "traces": (4, 8)}
    again = build_mixture(sources, seed=1)
    assert first.dataset.to_list() == again.dataset.to_list()
    other = build_mixture(sources, seed=2)
    assert other.dataset.to_list() != first.dataset.to_list()
    # every trace exactly twice
    traces = [r["prompt"][0]["content"] for r in first.dataset if r["source"] == "traces"]
    assert sorted(traces.count(t) for t in set(traces)) == [2, 2, 2, 2]


def test_upstream_balanced_arithmetic():
    # upstream's manifest: 1,180 CrossTrace + 5,478 HypoGen -> balanced_train 4,720
    crosstrace = sample_indices(1180, 1.0, False, None, 42, "crosstrace")
    resampled = sample_indices(1180, 1.0, True, None, 42, "crosstrace-resampled")
    hypogen = sample_indices(5478, 1.0, False, 2 * len(crosstrace), 42, "hypogen")
    assert (len(crosstrace), len(resampled), len(hypogen)) == (1180, 1180, 2360)
    assert len(set(resampled)) < 1180  # drawn with replacement: repeats
    assert len(set(hypogen)) == 2360  # the cap draws without replacement


def test_upstream_balanced_mixture_with_raw_hypogen(train_fixtures):
    crosstrace = source(train_fixtures, "crosstrace", "crosstrace_chat.jsonl")
    hypogen = source(train_fixtures, "hypogen", "hypogen_raw.jsonl", system_prompt_from="crosstrace")
    mixture = build_mixture(upstream_balanced(crosstrace, hypogen), seed=42)
    assert [(r.label, r.used) for r in mixture.reports] == [
        ("crosstrace", 8),
        ("crosstrace-resampled", 8),
        ("hypogen", 5),
    ]
    sources = upstream_balanced(crosstrace, hypogen)
    for entry in sources[:2]:
        entry.weight = 0.25  # 2 CrossTrace rows (and 2 redrawn) -> HypoGen capped at 4 of its 5
    capped = build_mixture(sources, seed=42)
    assert [(r.label, r.used) for r in capped.reports] == [
        ("crosstrace", 2),
        ("crosstrace-resampled", 2),
        ("hypogen", 4),
    ]
    row = next(r for r in capped.dataset if r["source"] == "hypogen")
    system = next(r for r in capped.dataset if r["source"] == "crosstrace")["prompt"][0]
    assert row["prompt"][0] == system  # HypoGen rows get the CrossTrace system prompt, as upstream trained them
    assert row["prompt"][1]["content"].startswith("Field context: ")
    assert "Approach:" not in row["completion"][0]["content"]


def test_bad_rows_name_file_line_and_field(train_fixtures):
    bad = source(train_fixtures, "bad", "bad_rows.jsonl")
    with pytest.raises(DataError) as caught:
        build_mixture([bad], seed=0)
    assert caught.value.line == 2 and caught.value.field == "messages"
    assert caught.value.path.endswith("bad_rows.jsonl")
    policy = ErrorPolicy(on_error="skip")
    mixture = build_mixture([bad], seed=0, policy=policy)
    assert mixture.reports[0].used == 1
    assert [(s["line"], s["field"]) for s in mixture.reports[0].skipped] == [
        (2, "messages"),
        (3, "messages[1].content"),
    ]


def test_recipe_entries_are_checked():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['wieght'\]"):
        parse_sources([{"label": "a", "path": "x", "wieght": 2}])
    with pytest.raises(ValueError, match="unique"):
        parse_sources([{"label": "a", "path": "x"}, {"label": "a", "path": "y"}])
    with pytest.raises(ValueError, match="refers to 'nope'"):
        parse_sources([{"label": "a", "path": "x", "cap_ratio": 2.0, "cap_source": "nope"}])
    with pytest.raises(ValueError, match="weight"):
        parse_sources([{"label": "a", "path": "x", "weight": -1}])


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="cannot load mixture source 'gone'"):
        build_mixture([MixtureSource(label="gone", path=str(tmp_path / "not-built"))], seed=0)


@pytest.fixture(scope="module")
def measured(train_fixtures):
    tokenizer = load_qwen25_tokenizer()
    mixture = build_mixture(
        [
            source(train_fixtures, "chat", "crosstrace_chat.jsonl"),
            source(train_fixtures, "traces", "dacr_traces.jsonl"),
        ],
        seed=0,
    )
    return tokenizer, add_token_lengths(mixture.dataset, tokenizer)


def test_token_lengths_match_the_chat_template(measured):
    tokenizer, dataset = measured
    for row in dataset.select(range(3)):
        full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True, return_dict=True)[
            "input_ids"
        ]
        prompt = tokenizer.apply_chat_template(
            row["prompt"], tokenize=True, add_generation_prompt=True, return_dict=True
        )["input_ids"]
        assert (row["total_tokens"], row["prompt_tokens"]) == (len(full), len(prompt))


def test_overlong_rows_stop_the_run_or_are_dropped_and_counted(measured):
    _, dataset = measured
    lengths = sorted(dataset["total_tokens"])
    limit = lengths[len(lengths) // 2]  # half the rows are longer
    report = length_report(dataset, limit)
    over = sum(r.over for r in report)
    assert over == sum(1 for n in lengths if n > limit) > 0
    assert max(r.over_max_by for r in report) == lengths[-1] - limit
    with pytest.raises(OverlongError, match="drop_overlong"):
        enforce_max_length(dataset, report, limit, drop_overlong=False)
    kept, dropped = enforce_max_length(dataset, report, limit, drop_overlong=True)
    assert dropped == over and len(kept) == len(dataset) - over
    assert max(kept["total_tokens"]) <= limit
    fits = length_report(dataset, suggest_max_length(report))
    assert sum(r.over for r in fits) == 0


@pytest.mark.shared_data
def test_crosstrace_release_as_a_mixture_source(crosstrace_release):
    mixture = build_mixture(
        [MixtureSource(label="crosstrace", path="json", data_files=str(crosstrace_release / "train_ours_only.jsonl"))],
        seed=0,
    )
    assert mixture.reports[0].used == 1180


def test_local_paths_are_stripped_from_the_recorded_recipe(tmp_path):
    from crosstrace.paths import REPO_ROOT
    from crosstrace.training.metadata import strip_local_paths

    recipe = {
        "output_dir": str(tmp_path / "run"),
        "mixture": [{"path": str(REPO_ROOT / "build" / "crosstrace")}, {"path": "org/crosstrace"}],
        "lr": 1e-4,
    }
    assert strip_local_paths(recipe) == {
        "output_dir": "<local>/run",
        "mixture": [{"path": "build/crosstrace"}, {"path": "org/crosstrace"}],
        "lr": 1e-4,
    }


def test_built_folders_are_read_from_parquet_and_other_folders_through_datasets(tmp_path):
    """A folder our builders wrote is read from its files (datasets would serve a stale cache after a
    rebuild); a plain folder of jsonl files still goes through `datasets.load_dataset`."""
    import json

    import pyarrow as pa

    from crosstrace.hub_folder import DatasetFolder
    from crosstrace.training.mixture import load_source, parse_sources

    def build(texts):
        folder = DatasetFolder(pa.schema([("text", pa.string())]))
        folder.add_split("all", "train", [{"text": t} for t in texts])
        folder.write(tmp_path / "built", folder.manifest("t"), "---\nlicense: cc-by-4.0\n---\n# t\n")

    source = parse_sources([{"label": "b", "path": str(tmp_path / "built"), "name": "all", "split": "train"}])[0]
    build(["a", "b"])
    assert load_source(source)["text"] == ["a", "b"]
    build(["c", "d", "e"])  # a rebuild in place is seen at once
    assert load_source(source)["text"] == ["c", "d", "e"]

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "train.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    assert load_source(parse_sources([{"label": "p", "path": str(plain), "split": "train"}])[0])["text"] == ["x"]
