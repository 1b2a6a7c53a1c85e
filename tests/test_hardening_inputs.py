"""Issue 11, bad input: each numbered defect as it was reported, through the command a user runs.

Defects 1, 2, 6 (readers and writers through crosstrace/jsonio.py), 10 (`evaluate.py score` on
unusable or partial predictions, CrossTrace's published ids), 11 (DACR-Bench values) and 12 (the
smaller items). Every case calls an entry point's `main(argv)` in process, or the reader itself.
"""

from __future__ import annotations

import codecs
import json
import logging
import shutil
from pathlib import Path

import pytest

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.evaluation.runner import read_generations
from crosstrace.scoring.dacr import score_dacr
from crosstrace.sources.dacr_bench import load_benchmark

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BENCH = FIXTURES / "evaluation" / "bench_small.json"
RELEASE = FIXTURES / "evaluation" / "crosstrace_release"


def _challenges() -> list[dict]:
    return json.loads(BENCH.read_text(encoding="utf-8"))["challenges"]


def _gold_answers(challenge: dict, extra: str = "") -> dict:
    return {
        q["questionId"]: {"answer": q["goldAnswer"] + extra, "citation": "", "confidence": 0.9}
        for q in challenge["questions"]
    }


def _score(evaluate_script, tmp_path, predictions: Path, *flags: str, task: str = "dacr", data: Path = BENCH) -> int:
    argv = ["score", "--task", task, "--benchmark", str(data), "--predictions", str(predictions)]
    return evaluate_script.main(
        [*argv, "--output_dir", str(tmp_path / "run"), "--plots", "false", "--bootstrap", "10", *flags]
    )


def _results(tmp_path) -> dict:
    return json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))


def _write_lines(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- defect 1


def test_an_outputs_file_whose_records_hold_unicode_line_separators_is_read_as_outputs(evaluate_script, tmp_path):
    """Defect 1: the format check split lines with str.splitlines(), found no whole record, and read the
    file as upstream's format: every answer missing, accuracy 0, exit 0."""
    records = [
        {"id": challenge["challengeId"], "output": "My answers\u2028below:\n" + json.dumps(_gold_answers(challenge))}
        for challenge in _challenges()
    ]
    predictions = _write_lines(tmp_path / "generations.jsonl", records)
    assert _score(evaluate_script, tmp_path, predictions) == 0
    body = _results(tmp_path)["tasks"]["dacr"]
    assert body["data"]["predictions"]["format"] == "outputs"
    assert body["metrics"]["accuracy"] == 1.0 and body["n"]["questions"] == sum(
        len(c["questions"]) for c in _challenges()
    )


# ----------------------------------------------------------------------------- defect 2


def test_a_lone_surrogate_in_an_answer_is_scored_and_written(evaluate_script, tmp_path):
    """Defect 2: writing samples.jsonl with ensure_ascii=False raised UnicodeEncodeError."""
    first = _challenges()[0]
    record = {"challengeId": first["challengeId"], "answers": _gold_answers(first, extra=" \ud800")}
    predictions = tmp_path / "preds.json"
    predictions.write_text(json.dumps([record]), encoding="utf-8")  # ASCII: the surrogate as the escape \ud800
    assert _score(evaluate_script, tmp_path, predictions) == 0
    rows = [
        json.loads(line)
        for line in (tmp_path / "run" / "samples.jsonl").read_text(encoding="utf-8").split("\n")
        if line
    ]
    answered = [row for row in rows if row["id"].startswith(first["challengeId"])]
    assert len(answered) == len(first["questions"]) and all(row["answer"].endswith(" \ud800") for row in answered)
    problems = _results(tmp_path)["tasks"]["dacr"]["problems"]["items"]
    assert sum("lone surrogate" in p["reason"] for p in problems) == len(first["questions"])  # scored, and said


# ----------------------------------------------------------------------------- defect 6


@pytest.mark.parametrize(
    ("text", "reason"),
    [("[" * 50_000 + "]" * 50_000, "nested deeper than"), ('[{"challengeId": ' + "9" * 5_000 + "}]", "5000 digits")],
    ids=["deep", "huge-integer"],
)
def test_deep_nesting_and_huge_integers_are_clear_errors(evaluate_script, tmp_path, caplog, text, reason):
    """Defect 6: RecursionError / ValueError tracebacks naming no file."""
    predictions = tmp_path / "preds.json"
    predictions.write_text(text)
    assert _score(evaluate_script, tmp_path, predictions) == 1
    assert f"{predictions}: nothing to score: " in caplog.text and reason in caplog.text


def test_a_huge_integer_line_is_skipped_and_counted_in_jsonl_predictions(evaluate_script, tmp_path, capsys):
    first, second = _challenges()
    lines = [
        {"challengeId": first["challengeId"], "answers": _gold_answers(first)},
        {"challengeId": second["challengeId"], "answers": _gold_answers(second)},
    ]
    predictions = _write_lines(tmp_path / "preds.jsonl", lines)
    text = predictions.read_text().split("\n")
    text[1] = text[1].replace('"confidence": 0.9', '"confidence": ' + "1" * 5_000, 1)
    predictions.write_text("\n".join(text))
    assert _score(evaluate_script, tmp_path, predictions) == 0
    body = _results(tmp_path)["tasks"]["dacr"]
    assert body["skipped"]["predictions_file"]["count"] == 1
    assert any(p["line"] == 2 and "5000 digits" in p["reason"] for p in body["problems"]["items"])
    assert "1 unusable prediction record(s)" in capsys.readouterr().err


def test_a_deeply_nested_line_is_skipped_and_counted_by_a_build_under_on_error_skip(tmp_path, capsys):
    from crosstrace.builders.__main__ import main

    raw = tmp_path / "raw"  # raw records carry their domains: no inference, a quick build
    shutil.copytree(FIXTURES / "crosstrace" / "raw", raw)
    with (raw / "all_traces.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"input": ' + "[" * 5_000 + "]" * 5_000 + "}\n")
    line = len((raw / "all_traces.jsonl").read_text().split("\n")) - 1
    assert main(["crosstrace", "--source", str(raw), "--out", str(tmp_path / "out")]) == 2
    assert f"all_traces.jsonl:{line}: nested deeper than" in capsys.readouterr().err
    assert main(["crosstrace", "--source", str(raw), "--out", str(tmp_path / "out"), "--on_error", "skip"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [(s["line"], s["reason"].split(" (")[0]) for s in manifest["skipped"]] == [
        (line, "nested deeper than 100 levels")
    ]


# ----------------------------------------------------------------------------- defect 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ('[{"challengeId": "eval-fixture-001", "answers": {"q01": {"ans', "not valid JSON"),
        ('"just a string"', "expected a list of predictions"),
        ('{"challengeId": "nowhere", "answers": {}}\n', "none of the 1 challenge ids is in the benchmark"),
    ],
    ids=["empty", "truncated", "not-a-list", "no-known-id"],
)
def test_unusable_dacr_predictions_are_an_error_not_accuracy_zero(evaluate_script, tmp_path, caplog, text, expected):
    """Defect 10: these printed accuracy 0.000 and exited 0."""
    predictions = tmp_path / "preds.json"
    predictions.write_text(text)
    assert _score(evaluate_script, tmp_path, predictions) == 1
    assert "nothing to score" in caplog.text and expected in caplog.text
    assert not (tmp_path / "run").exists()


def test_crosstrace_outputs_matching_no_id_are_an_error(evaluate_script, tmp_path, caplog):
    predictions = _write_lines(tmp_path / "outputs.jsonl", [{"id": "test_ours:1", "output": "x"}])
    assert _score(evaluate_script, tmp_path, predictions, task="crosstrace", data=RELEASE) == 1
    assert "none of the 1 ids is an id of this task's data" in caplog.text and "all/test_ours:1" in caplog.text


def _published_ids(configs: list[str]) -> dict[str, dict[str, str]]:
    from crosstrace.evaluation.tasks.crosstrace import CrossTraceTask

    return CrossTraceTask(str(RELEASE), configs).id_aliases()


def test_crosstrace_outputs_keyed_by_the_published_id_are_scored(evaluate_script, tmp_path, capsys):
    """Defect 10: a user scoring their model's outputs has the published dataset's `id` column."""
    published = _published_ids(["all", "hypogen"])
    records = [{"id": published_id, "output": "no sections here"} for published_id in published]
    predictions = _write_lines(tmp_path / "outputs.jsonl", [*records, {"id": "unknown", "output": "x"}, "oops"])
    assert _score(evaluate_script, tmp_path, predictions, task="crosstrace", data=RELEASE) == 0
    body = _results(tmp_path)["tasks"]["crosstrace"]
    assert body["n"]["structural_compliance"] == len(published)
    assert body["skipped"]["no_prediction"]["count"] == 0 and body["skipped"]["unknown_ids"]["ids"] == ["unknown"]
    # Partial input: scored, and what was left out is printed, not only written to results.json.
    assert "2 unusable prediction record(s)" in capsys.readouterr().err


def test_a_published_id_in_two_configs_is_an_error_listing_them(evaluate_script, tmp_path, caplog):
    published = _published_ids(["all", "biomedical"])
    both = next(i for i, configs in published.items() if len(configs) == 2)
    predictions = _write_lines(tmp_path / "outputs.jsonl", [{"id": both, "output": "x"}])
    flags = ("--crosstrace_configs", "all,biomedical")
    assert _score(evaluate_script, tmp_path, predictions, *flags, task="crosstrace", data=RELEASE) == 1
    assert f"outputs.jsonl:1: field 'id': {both!r} is the id of a record in configs all, biomedical" in caplog.text


# ----------------------------------------------------------------------------- defect 11


def _bench_file(tmp_path, edit) -> Path:
    data = json.loads(BENCH.read_text(encoding="utf-8"))
    edit(data["challenges"])
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN and Infinity as such
    return path


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["NaN", "Infinity"])
def test_a_non_finite_gold_answer_is_refused_or_skipped_and_counted(tmp_path, value):
    """Defect 11: goldAnswer NaN became the text "nan", and the answer "NaN" scored correct."""
    path = _bench_file(tmp_path, lambda challenges: challenges[0]["questions"][0].update(goldAnswer=value))
    with pytest.raises(DataError) as caught:
        load_benchmark(path)
    assert caught.value.field == "challenges[0].questions[0].goldAnswer" and "is not an answer" in caught.value.reason
    policy = ErrorPolicy("skip")
    bench = load_benchmark(path, policy)
    assert len(policy.skipped) == 1 and len(bench.challenges[0]["questions"]) == len(_challenges()[0]["questions"]) - 1
    # The scorer refuses it too, for challenges that did not come through load_benchmark.
    challenges = _challenges()
    challenges[0]["questions"][0]["goldAnswer"] = value
    with pytest.raises(DataError, match="goldAnswer"):
        score_dacr(challenges, {})


def test_a_split_other_than_real_or_synthetic_is_refused(tmp_path):
    """Defect 11: split "Real" became a third split and moved the transfer gap."""
    path = _bench_file(tmp_path, lambda challenges: challenges[0].update(split="Real"))
    with pytest.raises(DataError) as caught:
        load_benchmark(path)
    assert (caught.value.field, caught.value.path) == ("challenges[0].split", str(path))
    assert "'Real' is not a DACR-Bench split" in caught.value.reason
    challenges = _challenges()
    challenges[0]["split"] = "Real"
    with pytest.raises(DataError, match="'Real' is not a DACR-Bench split"):
        score_dacr(challenges, {})


def test_an_empty_document_is_warned_about_and_counted(tmp_path, caplog):
    path = _bench_file(tmp_path, lambda challenges: challenges[1]["document"].update(text="  \n"))
    with caplog.at_level(logging.WARNING):
        bench = load_benchmark(path)
    assert bench.summary()["defects"]["document_empty"] == 1
    assert "1 challenge(s) with an empty document" in caplog.text and _challenges()[1]["challengeId"] in caplog.text
    # Scoring such a challenge (whoever read it) says so in the problems.
    score = score_dacr(bench.challenges, {}, mode="strict", bootstrap=0)
    assert [p["field"] for p in score.problems if "document is empty" in p["reason"]] == [
        f"{_challenges()[1]['challengeId']}.document.text"
    ]


# ----------------------------------------------------------------------------- defect 12


def test_max_samples_below_one_is_refused(evaluate_script, capsys):
    """Defect 12: --max_samples -1 silently dropped the last prompt."""
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.parse_command_line(["--model", "m", "--max_samples", "-1"])
    assert exit_info.value.code == 2 and "--max_samples must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("folder", "emptied", "expected"),
    [
        ("release", "test_ours.jsonl", "test_ours.jsonl: no usable record"),  # was blamed on train_ours_only.jsonl
        ("raw", "all_traces.jsonl", "all_traces.jsonl: no usable record"),  # built a 0-row dataset, exit 0
    ],
)
def test_an_empty_source_file_is_named(tmp_path, capsys, folder, emptied, expected):
    from crosstrace.builders.__main__ import main

    source = tmp_path / "source"
    shutil.copytree(FIXTURES / "crosstrace" / folder, source)
    (source / emptied).write_text("")
    assert main(["crosstrace", "--source", str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert (
        expected in err and "--on-error skip" in err and "pass --on-error skip" not in err
    )  # skipping would not help
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("train_pct", 2.0, "train_pct"),
        ("val_pct", -0.1, "val_pct"),
        ("train_pct", "0.5", "train_pct"),
        ("val_pct", 0.9, "train_pct"),
    ],
)
def test_split_fractions_of_a_release_manifest_are_checked(tmp_path, key, value, field):
    """Defect 12: train_pct 2.0 in a release manifest was accepted."""
    from crosstrace.sources.crosstrace_release import read_split_settings

    manifest = json.loads((FIXTURES / "crosstrace" / "release" / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, key: value}))
    with pytest.raises(DataError) as caught:
        read_split_settings(tmp_path)
    assert caught.value.path == str(tmp_path / "manifest.json") and caught.value.field == field


def test_a_byte_order_mark_is_accepted_by_the_generations_reader(tmp_path):
    """Defect 12: a BOM made a resumed run call its generations file damaged."""
    path = tmp_path / "dacr.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + b'{"id": "p1", "output": "x"}\n')
    assert list(read_generations(path)) == ["p1"]
