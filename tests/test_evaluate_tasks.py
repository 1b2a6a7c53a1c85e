"""Task definitions: prompts from each data source, bad records counted, rows without reference text."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crosstrace.errors import DataError
from crosstrace.evaluation.tasks import CrossTraceTask, DacrTask, McqTask, sample_row
from crosstrace.mcq.format import check_mcq_record, render_mcq_prompt

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "evaluation"


def _built_folder(folder: Path, configs: dict[str, list[dict]]) -> Path:
    """A hub-ready folder as the builders write it: <config>/test.parquet and the card's `configs:`."""
    lines = ["---", "configs:"]
    for config, rows in configs.items():
        (folder / config).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / config / "test.parquet")
        lines += [f"- config_name: {config}", "  data_files:", "  - split: test", f"    path: {config}/test.parquet"]
    (folder / "README.md").write_text("\n".join([*lines, "---", ""]))
    return folder


def _release_rows() -> list[dict]:
    rows = []
    for line in (FIXTURES / "crosstrace_release" / "test_ours.jsonl").read_text().splitlines():
        record = json.loads(line)
        rows.append(
            {
                "id": f"ct-{len(rows)}",
                "source": "crosstrace",
                "domain": record["metadata"]["domain"],
                "messages": record["messages"],
            }
        )
    return rows


def test_crosstrace_prompts_from_the_release_folder():
    task = CrossTraceTask(str(FIXTURES / "crosstrace_release"), ["all", "hypogen", "ai_ml"])
    prompts = task.prompts()
    assert [p.id for p in prompts] == [
        "all/test_ours:1",
        "all/test_ours:2",
        "all/test_ours:3",
        "hypogen/test_hypogen:1",
        "ai_ml/test_ours:2",
    ]
    assert [m["role"] for m in prompts[0].messages] == ["system", "user"]  # the record's own prompt, no answer
    assert [i.profile for i in task.items] == ["crosstrace"] * 3 + ["hypogen", "crosstrace"]
    assert task.data_info()["configs"]["hypogen"]["rows"] == 1


def test_crosstrace_prompts_from_a_built_folder_with_a_bad_row(tmp_path):
    rows = _release_rows()
    rows[1]["messages"] = rows[1]["messages"][:2]  # ends with the user's message: no reference
    folder = _built_folder(tmp_path / "built", {"all": rows})
    task = CrossTraceTask(str(folder), ["all"])
    assert [p.id for p in task.prompts()] == ["all/ct-0", "all/ct-2"]
    assert len(task.input_problems.skipped) == 1 and "assistant" in task.input_problems.skipped[0].reason
    assert task.data_info()["configs"]["all"]["loaded"] == 2


def test_crosstrace_without_usable_records_is_an_error(tmp_path):
    folder = _built_folder(
        tmp_path / "built",
        {
            "all": [
                {"id": "x", "source": "crosstrace", "domain": None, "messages": [{"role": "user", "content": "hi"}]}
            ]
        },
    )
    with pytest.raises(DataError, match="no usable record"):
        CrossTraceTask(str(folder), ["all"])


def test_mcq_from_jsonl_and_built_folder_agree(tmp_path):
    from_file = McqTask(str(FIXTURES / "mcq_small.jsonl"))
    records = [json.loads(line) for line in (FIXTURES / "mcq_small.jsonl").read_text().splitlines()]
    from_folder = McqTask(str(_built_folder(tmp_path / "built", {"default": records})), "default")
    assert [p.messages for p in from_file.prompts()] == [p.messages for p in from_folder.prompts()]
    with pytest.raises(DataError, match="no config 'other'"):
        McqTask(str(tmp_path / "built"), "other")
    (tmp_path / "built" / "README.md").unlink()  # no card: the builders' layout <config>/<split>.parquet
    assert len(McqTask(str(tmp_path / "built"), "default").records) == 3
    prompt = from_file.prompts()[0].messages[0]["content"]
    assert (
        "A. Oxygen" in prompt
        and "J. Ozone" in prompt
        and prompt.rstrip().endswith('"Answer: X", where X is the letter of the correct option.')
    )


def test_mcq_record_checks_name_the_field(tmp_path):
    good = json.loads((FIXTURES / "mcq_small.jsonl").read_text().splitlines()[0])
    for change, field in [
        ({"question": " "}, "question"),
        ({"options": ["a", "b"]}, "options"),
        ({"answer": "K"}, "answer"),
        ({"options": {"A": "x", "C": "y"}}, "options"),
    ]:
        with pytest.raises(ValueError, match=f"^{field}"):
            check_mcq_record({**good, **change})
    lines = [json.dumps(good), json.dumps({**good, "id": "second", "answer": "Z"}), "{broken"]
    (tmp_path / "q.jsonl").write_text("\n".join(lines) + "\n")
    task = McqTask(str(tmp_path / "q.jsonl"))
    assert len(task.records) == 1 and [(s.line, s.field) for s in task.input_problems.skipped] == [
        (2, "answer"),
        (3, None),
    ]
    assert render_mcq_prompt(task.records[0]).count("\n") > 10


def test_dacr_split_filter_and_template_file(tmp_path):
    task = DacrTask([str(FIXTURES / "bench_small.json")], split="synthetic")
    assert [p.id for p in task.prompts()] == ["eval-fixture-001", "eval-fixture-002"]
    template = tmp_path / "template.txt"
    template.write_text("DOC:\n{document}\nQ:\n{questions}\nJSON only.")
    custom = DacrTask([str(FIXTURES / "bench_small.json")], template_file=str(template))
    content = custom.prompts()[1].messages[0]["content"]
    assert content.startswith("DOC:\n## Background") and "q04: Which of the two enzymes" in content
    assert custom.scoring_info()["prompt_template"] == "template.txt"
    shortened = custom.prompts()[0].with_document("short text")
    assert "short text" in shortened[0]["content"] and "Halden" not in shortened[0]["content"].split("Q:")[0]
    with pytest.raises(DataError, match="no challenge"):
        DacrTask([str(FIXTURES / "bench_small.json")], split="real")


def test_sample_rows_never_carry_reference_text():
    row = sample_row(
        "dacr",
        "c/q01",
        "raw",
        {
            "id": 3,
            "index": 3,
            "output": "raw",
            "goldAnswer": "secret",
            "document": "text",
            "answer": "42",
            "correct": True,
        },
    )
    assert row == {"task": "dacr", "id": "c/q01", "raw_output": "raw", "answer": "42", "correct": True}


def test_reports_find_a_tasks_skill_breakdown_through_its_class():
    from crosstrace.evaluation.compare import compare_tables
    from crosstrace.evaluation.tasks import task_class

    def run(run_id: str, accuracy: float) -> dict:
        breakdown = {"physics": {"metrics": {"accuracy": accuracy}, "ci95": {}, "n": {"accuracy": 4}}}
        body = {"metrics": {"accuracy": accuracy}, "breakdowns": {"discipline": breakdown, "category": breakdown}}
        # A task this version does not know (another version's results) gets no per-skill rows.
        return {"run_id": run_id, "label": run_id, "tasks": {"mcq": body, "poetry": body}}

    table = compare_tables([run("base", 0.25), run("tuned", 0.75)])
    mcq, poetry = table.split("## poetry")
    assert "| discipline physics (accuracy) | 25.0% | 75.0% | +50.0 pts |" in mcq and "category" not in mcq
    assert "physics" not in poetry and "| accuracy | 25.0% | 75.0% |" in poetry
    assert task_class("poetry").skill_dimension is None and task_class("dacr").skill_dimension == "category"
