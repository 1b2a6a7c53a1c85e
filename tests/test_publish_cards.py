"""Cards, tables and the results dataset, rendered from a results fixture; the committed renders are in sync."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from publish_fixtures import RESULTS_FIXTURE, copy_results, write_dataset_folder, write_training_output

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.paths import REPO_ROOT
from crosstrace.publish import model_card, readme_results
from crosstrace.publish.repos import ReleaseRepos
from crosstrace.publish.results_dataset import build_results_dataset
from crosstrace.publish.tables import all_runs_section
from crosstrace.publish.training_facts import TrainingFacts
from crosstrace.results_schema import load_runs

REPOS = ReleaseRepos("test-org")
ADAPTER_RUN = json.loads((RESULTS_FIXTURE / "fixture-qwen25-7b-crosstrace-qlora" / "results.json").read_text())


def render(results_dir: Path, facts: TrainingFacts | None = None, tmp: Path | None = None):
    runs, _ = load_runs(results_dir)
    facts = facts or TrainingFacts.from_card_dir(tmp or results_dir / "no-card-dir")
    return model_card.build_model_card(runs, REPOS, facts)


# --- model card --------------------------------------------------------------------------------


def test_model_index_has_one_entry_per_task_and_metric_of_the_adapter_run():
    card, _ = render(RESULTS_FIXTURE)
    parsed = ModelCard(str(card))  # the Hub's parser, strict about model-index
    results = {(r.task_name.split(":")[0], r.metric_type): r for r in parsed.data.eval_results}
    expected = {
        (task_name, metric): round(value, 4)  # model-index values are rounded to 4 decimals
        for task, task_name in (("dacr", "DACR"), ("crosstrace", "CrossTrace"))
        for metric, value in ADAPTER_RUN["tasks"][task]["metrics"].items()
        if value is not None
    }
    assert {key: r.metric_value for key, r in results.items()} == expected  # iascore (undefined: no judge) is left out
    assert parsed.data.model_name == REPOS.adapter_name
    crosstrace = results[("CrossTrace", "compliance")]
    assert (crosstrace.dataset_type, crosstrace.dataset_config, crosstrace.dataset_split) == (
        "test-org/crosstrace",
        "all",
        "test",
    )
    assert parsed.data.base_model == "Qwen/Qwen2.5-7B-Instruct" and parsed.data.library_name == "peft"


def test_card_tables_put_the_baseline_beside_the_adapter():
    card, plots = render(RESULTS_FIXTURE)
    text = card.text
    assert "| `accuracy` | 0.250 [0.130, 0.370] | 0.450 [0.330, 0.570] | +0.200 | 60 |" in text
    assert "| trap_targeted | 0.100 [0.000, 0.400] | 0.500 [0.200, 0.800] | 10 |" in text
    # the demo run (another model) is listed with all runs but is not part of the comparison
    comparison, all_runs = text.split("### All recorded runs")
    assert "fixture-smollm2-demo" not in comparison and "fixture-smollm2-demo" in all_runs
    assert [p.path for p in plots] == [
        "plots/fixture-qwen25-7b-baseline/dacr_by_category.png",
        "plots/fixture-qwen25-7b-crosstrace-qlora/dacr_by_category.png",
    ]
    assert all(f"]({p.path})" in text for p in plots)


def test_upstream_figures_are_a_separate_labelled_reference():
    card, _ = render(RESULTS_FIXTURE)
    ours, reference = card.text.split("### Upstream's published figures (a reference, not our measurements)")
    assert "0.189" not in ours and "| accuracy | 0.189 | 0.400 |" in reference
    assert "not produced by this repository" in reference


def test_without_results_the_card_says_so_and_has_no_model_index(tmp_path):
    card, plots = render(tmp_path / "empty")
    assert "**No evaluation results of this adapter are recorded yet.**" in card.text
    assert "model-index" not in str(card) and plots == []
    assert "No evaluation results are recorded yet" in card.text


def test_runs_of_other_models_are_not_reported_as_the_adapters(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    shutil.copytree(RESULTS_FIXTURE / "fixture-smollm2-demo", results / "fixture-smollm2-demo")
    card, _ = render(results)
    assert "**No evaluation results of this adapter are recorded yet.**" in card.text
    assert "The 1 run(s) recorded so far are of other models" in card.text
    assert "model-index" not in str(card)


def test_training_facts_fill_the_training_section(tmp_path):
    out = write_training_output(tmp_path / "out", tmp_path / "base")
    facts = TrainingFacts.from_training_dir(out)
    card, _ = render(RESULTS_FIXTURE, facts)
    text = card.text
    assert "| rank `r` | 4 |" in text
    assert (
        "| crosstrace | test-org/crosstrace | all | train | 1 |" in text
    )  # a released dataset's build folder -> its Hub id
    assert "model_name_or_path: <local>/base" in text and str(tmp_path) not in str(card)
    assert "Trained from commit `0123abc`." in text
    assert "Versions recorded by the training run" in text and "| crosstrace | 0.1.0 |" in text


def test_the_mixture_table_is_the_one_the_training_run_resolved(tmp_path):
    out = write_training_output(tmp_path / "out", tmp_path / "base")
    metadata = json.loads((out / "run_metadata.json").read_text())
    resolved = {"label": "crosstrace", "path": "build/crosstrace", "name": "all", "split": "train", "weight": 1.0}
    resolved |= {"data_files": None, "revision": None, "replacement": False, "cap_ratio": None, "cap_source": None}
    metadata["mixture"] = [resolved, {**resolved, "label": "crosstrace-resampled", "replacement": True}]
    (out / "run_metadata.json").write_text(json.dumps(metadata))
    text = render(RESULTS_FIXTURE, TrainingFacts.from_training_dir(out))[0].text
    assert "| label | path | name | split | weight | replacement |" in text  # no cap_ratio column: no source sets one
    assert "| crosstrace-resampled | test-org/crosstrace | all | train | 1 | True |" in text


def test_model_card_command_keeps_the_facts_and_checks_sync(tmp_path, capsys):
    out = write_training_output(tmp_path / "out", tmp_path / "base")
    results = copy_results(tmp_path / "results")
    card = tmp_path / "card" / "README.md"
    args = ["--results", str(results), "--out", str(card), "--hub-org", "test-org"]
    assert model_card.main([*args, "--adapter-dir", str(out)]) == 0
    assert sorted(p.name for p in card.parent.iterdir()) == [
        "README.md",
        "adapter_config.json",
        "plots",
        "recipe.yaml",
        "run_metadata.json",
        "train_results.json",
    ]
    assert "(the run recorded `<local>/base`)" in card.read_text()  # a local base is named as recorded
    assert (
        model_card.main(["--results", str(results), "--out", str(card), "--check"]) == 0
    )  # the org is read back from the card
    run = results / "fixture-qwen25-7b-crosstrace-qlora" / "results.json"
    run.write_text(run.read_text().replace('"accuracy": 0.45', '"accuracy": 0.46', 1))
    assert model_card.main(["--results", str(results), "--out", str(card), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


# --- results dataset ---------------------------------------------------------------------------


def test_results_dataset_has_results_and_details_configs(tmp_path):
    from datasets import load_dataset

    out = tmp_path / "results-ds"
    manifest = build_results_dataset(RESULTS_FIXTURE, out, REPOS)
    assert manifest["counts"] == {"results": {"train": 5}, "details": {"train": 7}}
    results = load_dataset(str(out), "results", split="train", cache_dir=str(tmp_path / "cache"))
    row = next(r for r in results if r["run_id"] == "fixture-qwen25-7b-crosstrace-qlora" and r["task"] == "dacr")
    accuracy = next(m for m in row["metrics"] if m["name"] == "accuracy")
    assert accuracy == {"name": "accuracy", "value": 0.45, "n": 60, "ci95_low": 0.33, "ci95_high": 0.57}
    details = load_dataset(str(out), "details", split="train", cache_dir=str(tmp_path / "cache"))
    first = details.filter(lambda r: r["run_id"] == "fixture-smollm2-demo")[0]
    assert first["task"] == "dacr" and json.loads(first["sample"])["challenge_id"] == "fx-02"
    assert (out / "runs" / "fixture-qwen25-7b-baseline" / "dacr_by_category.png").is_file()
    assert "runs/fixture-qwen25-7b-baseline/results.json" in manifest["files"]


def test_results_dataset_strips_local_paths_and_reports_bad_samples(tmp_path):
    results = copy_results(tmp_path / "results")
    run = results / "fixture-smollm2-demo"
    raw = json.loads((run / "results.json").read_text())
    raw["tasks"]["dacr"]["data"]["path"] = "/home/alice/benchmarks/mini.json"
    (run / "results.json").write_text(json.dumps(raw))
    with (run / "samples.jsonl").open("a") as handle:
        handle.write('{"task": "dacr", "question_id": "q02"\n')  # truncated line
        handle.write('{"task": "mcq", "question_id": "q03"}\n')  # a task this run did not score

    with pytest.raises(DataError) as error:
        build_results_dataset(results, tmp_path / "strict", REPOS)
    assert "samples.jsonl:2" in str(error.value) and "not valid JSON" in str(error.value)

    manifest = build_results_dataset(results, tmp_path / "out", REPOS, ErrorPolicy("skip"))
    assert [(s["line"], s["field"]) for s in manifest["skipped"]] == [(2, None), (3, "task")]
    assert manifest["local_paths_replaced"] >= 1
    published = (tmp_path / "out" / "runs" / "fixture-smollm2-demo" / "results.json").read_text()
    assert "/home/alice" not in published and "<local>/mini.json" in published


def test_a_malformed_results_file_names_the_field(tmp_path):
    results = copy_results(tmp_path / "results")
    path = results / "fixture-smollm2-demo" / "results.json"
    raw = json.loads(path.read_text())
    raw["tasks"]["dacr"]["metrics"]["accuracy"] = "high"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match=r"field 'tasks.dacr.metrics.accuracy': expected a finite float"):
        load_runs(results)
    runs, policy = load_runs(results, ErrorPolicy("skip"))
    assert len(runs) == 2 and len(policy.skipped) == 1


# --- README block ------------------------------------------------------------------------------


def test_readme_block_is_replaced_between_the_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n\n{readme_results.START}\nstale\n{readme_results.END}\n\nAfter.\n")
    assert readme_results.sync_readme(readme, RESULTS_FIXTURE) is True
    text = readme.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n") and text.endswith(f"{readme_results.END}\n\nAfter.\n")
    block = readme_results.current_block(readme)
    runs, _ = load_runs(RESULTS_FIXTURE)
    # the same code as the card's "All recorded runs" section
    assert all_runs_section(runs, heading_level=3) in block
    assert readme_results.sync_readme(readme, RESULTS_FIXTURE) is False
    assert readme_results.main(["--readme", str(readme), "--results", str(RESULTS_FIXTURE), "--check"]) == 0
    readme.write_text(readme.read_text().replace("0.450", "0.999"))
    assert readme_results.main(["--readme", str(readme), "--results", str(RESULTS_FIXTURE), "--check"]) == 1


def test_readme_without_markers_is_a_clear_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    with pytest.raises(readme_results.MarkerError, match="results:start"):
        readme_results.sync_readme(readme, RESULTS_FIXTURE)


# --- the committed renders are in sync -------------------------------------------------------


def test_repository_readme_results_block_is_in_sync():
    readme = REPO_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert readme_results.START in text, (
        "README.md has no generated results block: add the Results section with the "
        f"'{readme_results.START}' / '{readme_results.END}' markers, then run python -m crosstrace.publish.readme_results"
    )
    assert readme_results.current_block(readme) == readme_results.render_block(REPO_ROOT / "dacr_results"), (
        "README.md's results block is stale: run python -m crosstrace.publish.readme_results"
    )


def test_repository_model_card_is_in_sync():
    card = REPO_ROOT / "model_card" / "README.md"
    assert card.is_file(), (
        "model_card/README.md is missing: run python -m crosstrace.publish.model_card --hub-org <org>"
    )
    org = model_card.hub_org_of_card(card)
    text, _ = model_card.render_to(card, REPO_ROOT / "dacr_results", org)
    assert card.read_text(encoding="utf-8") == text, (
        "model_card/README.md is stale: run python -m crosstrace.publish.model_card"
    )


# --- the quick start runs ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_cards_quick_start_runs_on_local_stand_ins(tmp_path):
    """The card's Python quick start, verbatim except for local folders in place of the Hub ids
    and fewer new tokens: a tiny random Qwen2 with the real Qwen2.5 tokenizer, an adapter for it,
    and a CrossTrace-shaped dataset folder."""
    from peft import LoraConfig, get_peft_model

    from crosstrace.models import build_tiny_qwen2
    from crosstrace.tokenization import load_qwen25_tokenizer

    tokenizer = load_qwen25_tokenizer()
    base = build_tiny_qwen2(tokenizer)
    base.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    adapter = get_peft_model(base, LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM"))
    adapter.save_pretrained(tmp_path / "adapter")
    write_dataset_folder(tmp_path / "data")

    card, _ = render(RESULTS_FIXTURE)
    code = re.search(r"```python\n(.*?)```", card.text, re.S).group(1)
    for hub_id, local in (
        (f'"{REPOS.adapter}"', tmp_path / "adapter"),
        (f'"{REPOS.dataset("crosstrace")}"', tmp_path / "data"),
        ('"Qwen/Qwen2.5-7B-Instruct"', tmp_path / "base"),
    ):
        assert hub_id in code
        code = code.replace(hub_id, repr(str(local)))
    code = code.replace("max_new_tokens=512", "max_new_tokens=8")
    namespace: dict = {}
    exec(compile(code, "quick start", "exec"), namespace)  # the snippet prints the generated text
    assert namespace["output"].shape[1] > namespace["inputs"]["input_ids"].shape[1]
