"""Readers for DACR data: DACR-Bench files (three shapes) and the upstream tuning rows."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crosstrace.dacr_prompt import DEFAULT_TEMPLATE, format_questions, render_dacr_prompt
from crosstrace.engine.records import TRACE_SCHEMA
from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.sources.dacr_bench import CATEGORIES, load_benchmark, save_benchmark
from crosstrace.sources.dacr_tuning import read_tuning_data


@pytest.fixture
def dacr_fixtures(fixtures_dir):
    return fixtures_dir / "dacr"


# --- DACR-Bench files ---------------------------------------------------------------------


def test_v11_wrapper_reads_and_reports_known_defects(dacr_fixtures):
    bench = load_benchmark(dacr_fixtures / "bench_v11.json")
    assert (bench.name, bench.version) == ("fixture-bench", "1.1")
    assert [c["challengeId"] for c in bench.challenges] == ["fixture-real-001", "fixture-engine-002"]
    kinds = {(d["challengeId"], d["kind"], d.get("trapId")) for d in bench.defects}
    assert ("fixture-real-001", "trap_equal_values", "t001") in kinds
    assert ("fixture-real-001", "trap_text_refusal", "t002") in kinds
    assert ("fixture-real-001", "trap_untargeted", "t001") in kinds
    assert ("fixture-real-001", "trap_untargeted", "t002") in kinds
    # The engine challenge has no defect at all.
    assert not [d for d in bench.defects if d["challengeId"] == "fixture-engine-002"]
    # A numeric gold answer is turned into text, and the change is recorded.
    q03 = bench.challenges[0]["questions"][2]
    assert q03["goldAnswer"] == "295"
    assert any(n["kind"] == "gold_number_to_text" and n["questionId"] == "q03" for n in bench.normalizations)


def test_v10_wrapper_infers_split_and_renames_legacy_category(dacr_fixtures):
    bench = load_benchmark(dacr_fixtures / "bench_v10.json")
    assert bench.version == "1.0"
    assert [c["split"] for c in bench.challenges] == ["real", "synthetic"]
    categories = {q["category"] for c in bench.challenges for q in c["questions"]}
    assert "conflict_targeted" not in categories and "trap_targeted" in categories
    assert categories <= set(CATEGORIES)
    assert sum(n["kind"] == "split_inferred" for n in bench.normalizations) == 2


def test_bare_list_reads_like_a_wrapper(dacr_fixtures):
    bare = load_benchmark(dacr_fixtures / "bench_bare_list.json")
    wrapped = load_benchmark(dacr_fixtures / "bench_v11.json")
    assert bare.name == "bench_bare_list" and bare.version == "1.1"
    assert bare.challenges == [wrapped.challenges[1]]


def test_missing_gold_answer_names_file_and_field_path(dacr_fixtures):
    path = dacr_fixtures / "bad_missing_gold.json"
    with pytest.raises(DataError) as caught:
        load_benchmark(path)
    assert caught.value.field == "challenges[1].questions[1].goldAnswer"
    assert str(path) in str(caught.value) and "missing" in str(caught.value)


def test_skip_policy_keeps_the_rest_and_counts_what_it_skipped(dacr_fixtures):
    policy = ErrorPolicy("skip")
    bench = load_benchmark(dacr_fixtures / "bad_missing_gold.json", policy)
    assert [len(c["questions"]) for c in bench.challenges] == [3, 1]
    assert [s.field for s in policy.skipped] == ["challenges[1].questions[1].goldAnswer"]

    policy = ErrorPolicy("skip")
    bench = load_benchmark(dacr_fixtures / "bad_missing_text.json", policy)
    assert [c["challengeId"] for c in bench.challenges] == ["fixture-engine-002"]
    assert [s.field for s in policy.skipped] == ["challenges[0].document.text"]


def test_truncated_file_names_the_line(dacr_fixtures):
    with pytest.raises(DataError) as caught:
        load_benchmark(dacr_fixtures / "bad_truncated.json")
    assert caught.value.line is not None and "not valid JSON" in caught.value.reason


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"name": "x"}, "challenges"),
        ([{"challengeId": 5, "document": {"text": "t"}, "questions": []}], "[0].challengeId"),
        (
            [{"challengeId": "a", "document": {"text": "t"}, "source": {"type": "mystery"}, "questions": []}],
            "[0].split",
        ),
        (
            [
                {
                    "challengeId": "a",
                    "split": "real",
                    "document": {"text": "t"},
                    "questions": [{"questionId": "q01", "text": "?", "goldAnswer": "x", "goldAnswerAliases": "x"}],
                }
            ],
            "[0].questions[0].goldAnswerAliases",
        ),
    ],
)
def test_structural_errors_name_the_field(tmp_path, content, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_benchmark(path)
    assert caught.value.field == field and caught.value.path == str(path)


def test_duplicate_challenge_ids_are_an_error(tmp_path, dacr_fixtures):
    data = json.loads((dacr_fixtures / "bench_v11.json").read_text())
    data["challenges"][1]["challengeId"] = data["challenges"][0]["challengeId"]
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="duplicate challengeId"):
        load_benchmark(path)


def test_save_then_load_round_trips(tmp_path, dacr_fixtures):
    bench = load_benchmark(dacr_fixtures / "bench_v11.json")
    out = save_benchmark(tmp_path / "b.json", bench.challenges, name="again", description="round trip")
    again = load_benchmark(out)
    assert again.challenges == bench.challenges
    wrapper = json.loads(out.read_text())
    assert wrapper["createdAt"] is None
    assert wrapper["stats"]["totalQuestions"] == 5 and wrapper["splitBreakdown"] == {"real": 1, "synthetic": 1}


@pytest.mark.shared_data
def test_reads_the_public_mini_file(dacr_mini):
    bench = load_benchmark(dacr_mini)
    assert len(bench.challenges) == 27
    assert sum(len(c["questions"]) for c in bench.challenges) == 270
    assert sum(len(c["traps"]) for c in bench.challenges) == 41
    kinds = [d["kind"] for d in bench.defects]
    # docs/upstream-formats.md §2: 7 of the 41 traps are targeted by no question; one trap text is a refusal;
    # traps with equal correct and wrong values are there too.
    assert kinds.count("trap_untargeted") == 7
    assert kinds.count("trap_text_refusal") == 1
    assert kinds.count("trap_equal_values") >= 1
    assert {c["split"] for c in bench.challenges} == {"real", "synthetic"}


# --- the DACR prompt ------------------------------------------------------------------------


def test_prompt_holds_document_and_questions_once(dacr_fixtures):
    challenge = load_benchmark(dacr_fixtures / "bench_v11.json").challenges[1]
    prompt = render_dacr_prompt(challenge)
    assert prompt.count(challenge["document"]["text"]) == 1
    assert "q01: Which buoy logged the warmest mean sea-surface temperature?" in format_questions(challenge)
    assert format_questions(challenge) in prompt
    assert '"q01": {"answer": "...", "citation": "...", "confidence": 0.95}' in prompt
    assert "{document}" not in prompt and "{questions}" not in prompt


def test_prompt_accepts_a_template_and_never_expands_placeholders_in_the_document(dacr_fixtures):
    challenge = load_benchmark(dacr_fixtures / "bench_v11.json").challenges[1]
    challenge = {
        **challenge,
        "document": {**challenge["document"], "text": "a text that mentions {questions} literally"},
    }
    prompt = render_dacr_prompt(challenge, 'DOC<{document}>\nQ<{questions}>\n{"q01": {}}')
    assert prompt.startswith("DOC<a text that mentions {questions} literally>\nQ<q01: ")
    with pytest.raises(ValueError, match="exactly once"):
        render_dacr_prompt(challenge, "no placeholders here")
    assert DEFAULT_TEMPLATE.count("{document}") == 1


@pytest.mark.shared_data
def test_upstream_template_renders_without_copying_it(dacr_mini):
    template_path = dacr_mini.parent / "prompt_template.txt"
    if not template_path.is_file():
        pytest.skip("prompt_template.txt is absent beside the mini file")
    challenge = load_benchmark(dacr_mini).challenges[0]
    prompt = render_dacr_prompt(challenge, template_path.read_text(encoding="utf-8"))
    assert challenge["document"]["text"] in prompt and format_questions(challenge) in prompt
    assert render_dacr_prompt(challenge) != prompt


# --- upstream tuning rows -----------------------------------------------------------------------


def test_tuning_rows_become_trace_rows(dacr_fixtures):
    policy = ErrorPolicy("skip")
    data = read_tuning_data(dacr_fixtures / "tuning", policy)
    assert {split: len(rows) for split, rows in data.rows.items()} == {"test": 1, "train": 2}
    first, second = data.rows["train"]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant"]
    assert second["prompt"] == second["messages"][:-1] and second["completion"] == second["messages"][-1:]
    assert (first["reward"], second["reward"]) == (1.0, 0.5)
    assert first["source"] == "upstream" and first["gold_answers"] == [] and first["seed"] is None
    assert first["id"] == "upstream/train/train/1"
    # The JSON list's response was a chat list: its assistant message is the completion.
    assert data.rows["test"][0]["completion"][0]["content"].startswith('{"q01"')
    # Bad rows are counted, each with file, line and field.
    assert [(s.line, s.field) for s in policy.skipped] == [(4, "response"), (5, "reward")]
    assert all(s.path.endswith("train.jsonl") for s in policy.skipped)
    assert {f["path"]: f["rows"] for f in data.files} == {"test.json": 1, "train.jsonl": 2}


def test_tuning_rows_fit_the_engine_rows_schema(dacr_fixtures):
    data = read_tuning_data(dacr_fixtures / "tuning", ErrorPolicy("skip"))
    table = pa.Table.from_pylist(data.rows["train"], schema=TRACE_SCHEMA)
    assert table.num_rows == 2 and table.schema.names == TRACE_SCHEMA.names


def test_tuning_parquet_file_reads_like_jsonl(dacr_fixtures, tmp_path):
    good = [json.loads(line) for line in (dacr_fixtures / "tuning" / "train.jsonl").read_text().splitlines()[:2]]
    # Parquet needs one type per column: write the string-prompt row only.
    path = tmp_path / "validation-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(good[:1]), path)
    data = read_tuning_data(path)
    assert list(data.rows) == ["validation"]
    assert data.rows["validation"][0]["messages"][-1]["content"] == good[0]["response"]


def test_tuning_errors_name_file_line_and_field(dacr_fixtures, tmp_path):
    with pytest.raises(DataError) as caught:
        read_tuning_data(dacr_fixtures / "tuning")
    assert caught.value.line == 4 and caught.value.field == "response" and "train.jsonl" in caught.value.path
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "mystery.jsonl").write_text('{"prompt": "p", "response": "r", "reward": 1}\n')
    with pytest.raises(DataError, match="cannot tell the split"):
        read_tuning_data(tmp_path / "more")
    bad_role = tmp_path / "train.jsonl"
    bad_role.write_text('{"prompt": [{"role": "narrator", "content": "x"}], "response": "r", "reward": 1}\n')
    with pytest.raises(DataError) as caught:
        read_tuning_data(bad_role)
    assert caught.value.field == "prompt[0]"
    with pytest.raises(DataError, match="no such file"):
        read_tuning_data(tmp_path / "absent")
