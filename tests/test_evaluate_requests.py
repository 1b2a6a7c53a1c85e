"""The openai request layer (issue 12, defects 4-7 and 10): results.json records what the request carried,
the default run id hashes only what changes generations, prompt lengths are bounded before sending and
counted exactly after, requests stay in flight without rounds, and a prompt the server refuses is
recorded instead of stopping the run. Against the loopback ChatServer; the real server: test_real_server.py."""

from __future__ import annotations

import json

import pytest
from chat_server import ChatServer

from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.backends import decoding_settings
from crosstrace.evaluation.backends.base import SERVER_DEFAULT, chat_text
from crosstrace.evaluation.backends.openai import OpenAIBackend
from crosstrace.evaluation.missing_metrics import EXIT_NOT_MEASURED
from crosstrace.evaluation.pipeline import check_run_folder, generation_settings, run_folder
from crosstrace.evaluation.prompts import Prompt
from crosstrace.evaluation.runner import batch_order, generate_all
from crosstrace.evaluation.tasks import McqTask
from crosstrace.paths import REPO_ROOT

MCQ = REPO_ROOT / "tests" / "fixtures" / "evaluation" / "mcq_small.jsonl"  # three questions; the second mentions ATP
NOWHERE = "http://127.0.0.1:9/v1"  # for backends that send nothing


def _messages(text):
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def _openai(**settings) -> EvalArguments:
    return EvalArguments(**{"model": "m", "backend": "openai", "base_url": NOWHERE, **settings})


# ----------------------------------------------------------------------------- defect 4


@pytest.mark.parametrize(
    ("settings", "sent"),
    [
        ({}, {}),  # a hosted API may refuse the fields: nothing is sent, the server's defaults apply
        ({"send_sampling_extras": True}, {"top_k": -1, "repetition_penalty": 1.0}),
        ({"repetition_penalty": 1.1}, {"repetition_penalty": 1.1}),  # the user's choice is sent
        ({"temperature": 0.7, "top_k": 20}, {"top_k": 20}),
        ({"top_k": 20}, {}),  # greedy ignores top_k: it counts as off
    ],
)
def test_results_record_the_sampling_settings_the_request_carries(settings, sent):
    args = _openai(**settings)
    body = OpenAIBackend(args).payload(_messages("hi"), seed=3)
    assert {name: body[name] for name in ("top_k", "repetition_penalty") if name in body} == sent
    recorded = decoding_settings(args)
    for name in ("top_k", "repetition_penalty"):
        # on the wire, top_k "off" is -1 (vLLM's spelling); results.json writes 0, as the flag does
        expected = SERVER_DEFAULT if name not in sent else (0 if sent[name] == -1 else sent[name])
        assert recorded[name] == expected, name


def test_in_process_backends_apply_and_record_the_sampling_settings():
    from crosstrace.evaluation.backends.hf import HFBackend

    args = EvalArguments(
        model="builtin:tiny-qwen2", device="cpu", temperature=0.7, top_k=20, repetition_penalty=1.1, batch_size=2
    )
    config = HFBackend(args).generation_config
    assert (config.top_k, config.repetition_penalty) == (20, 1.1)
    recorded = decoding_settings(args)
    assert (recorded["top_k"], recorded["repetition_penalty"], recorded["batch_size"]) == (20, 1.1, 2)
    assert "batch_size" not in decoding_settings(_openai())  # no batches there: --max_concurrency in flight


# ----------------------------------------------------------------------------- defect 5


def test_default_run_id_hashes_what_changes_generations_only():
    openai = {"model": "m", "backend": "openai", "base_url": NOWHERE, "tasks": "mcq", "mcq_data": "q.jsonl"}
    outside = [
        {"max_retries": 1},
        {"request_timeout": 5.0},
        {"max_concurrency": 2},
        {"api_key_env": "OTHER_KEY"},
        {"scoring": "reference"},
        {"bootstrap": 50},
        {"judge_model": "a-judge"},
        {"label": "x"},
        {"plots": False},
    ]
    inside = [
        {"model": "n"},
        {"temperature": 0.5},
        {"repetition_penalty": 1.1},
        {"send_sampling_extras": True},
        {"max_new_tokens": 9},
        {"prompt_template": "t.txt"},
        {"tasks": "mcq,dacr"},
        {"mcq_data": "r.jsonl"},
    ]
    # Where a prompt's output does not depend on its batch, a later run with more samples extends the earlier one.
    batch = [{"batch_size": 3}, {"max_samples": 2}]

    def run_id(settings, change):
        return run_folder(EvalArguments(**{**settings, **change}))[0]

    for change in [*outside, *batch]:
        assert run_id(openai, change) == run_id(openai, {}), change
    for change in inside:
        assert run_id(openai, change) != run_id(openai, {}), change
    hf = {"model": "m", "tasks": "mcq", "mcq_data": "q.jsonl"}  # batch composition changes the numerics
    for change in outside:
        assert run_id(hf, change) == run_id(hf, {}), change
    for change in batch:
        assert run_id(hf, change) != run_id(hf, {}), change


def test_more_samples_and_other_engine_settings_extend_the_finished_run(evaluate_script, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default run folder: dacr_results/<run id>
    with ChatServer() as server:
        argv = ["--model", "m", "--backend", "openai", "--base_url", server.url, "--tasks", "mcq"]
        argv += ["--mcq_data", str(MCQ), "--bootstrap", "20", "--no_plots"]
        assert evaluate_script.main([*argv, "--max_samples", "2"]) == 0
        assert len(server.requests) == 2
        other_settings = [
            "--bootstrap",
            "30",
            "--max_concurrency",
            "2",
            "--request_timeout",
            "30",
            "--max_retries",
            "1",
        ]
        assert evaluate_script.main([*argv, *other_settings, "--batch_size", "3"]) == 0
    (run_dir,) = (tmp_path / "dacr_results").iterdir()
    assert len(server.requests) == 3  # only the third question was new
    lines = (run_dir / "generations" / "mcq.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["mcq-fixture-1", "mcq-fixture-2", "mcq-fixture-3"]
    assert len((run_dir / "samples.jsonl").read_text().splitlines()) == 3


def test_a_run_folder_from_before_the_new_settings_still_resumes(tmp_path):
    settings = generation_settings(_openai())
    older = {k: v for k, v in settings.items() if k not in ("top_k", "repetition_penalty", "send_sampling_extras")}
    older["batch_size"] = 99  # recorded by older runs; it never changed an openai output
    (tmp_path / "generations").mkdir()
    (tmp_path / "run_config.json").write_text(json.dumps(older))
    check_run_folder(tmp_path, settings, overwrite=False)  # missing settings count as their defaults
    with pytest.raises(DataError, match="temperature"):
        check_run_folder(tmp_path, {**settings, "temperature": 0.5}, overwrite=False)


# ----------------------------------------------------------------------------- defect 6


def test_prompt_length_bound_without_a_tokenizer_is_never_below_the_real_count():
    from transformers import AutoTokenizer

    from crosstrace.models import resolve_model_path

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("builtin:tiny-qwen2"))  # the real Qwen2.5 vocabulary
    backend = OpenAIBackend(_openai(max_context_tokens=4096))
    conversations = [p.messages for p in McqTask(str(MCQ)).prompts()]  # 3 characters a token under-counted these
    conversations += [
        [{"role": "user", "content": text}]  # no system message: the template adds its own
        for text in (
            "3.14159 2.71828 1.41421 0.57721 " * 20,
            "量子纠缠与退相干的实验测量，" * 20,
            "🧪🔬⚗️🧬 " * 40,
            "def f(x):\n\treturn {'k': [x**2 for x in range(10)]}\n" * 10,
        )
    ]
    for messages in conversations:
        exact = len(tokenizer(chat_text(tokenizer, messages), add_special_tokens=False).input_ids)
        assert backend.count_tokens(messages) >= exact, messages[-1]["content"][:40]


def test_the_servers_exact_prompt_count_is_recorded(evaluate_script, tmp_path):
    out = tmp_path / "run"
    with ChatServer() as server:
        argv = ["--model", "m", "--backend", "openai", "--base_url", server.url, "--tasks", "mcq"]
        assert (
            evaluate_script.main(
                [*argv, "--mcq_data", str(MCQ), "--bootstrap", "20", "--no_plots", "--output_dir", str(out)]
            )
            == 0
        )
    sent = {r["messages"][-1]["content"]: sum(len(m["content"]) for m in r["messages"]) for r in server.requests}
    lines = [json.loads(line) for line in (out / "generations" / "mcq.jsonl").read_text().splitlines()]
    assert sorted(line["server_prompt_tokens"] for line in lines) == sorted(
        sent.values()
    )  # the server's count, as it said
    generation = json.loads((out / "results.json").read_text())["tasks"]["mcq"]["generation"]
    assert generation["server_prompt_tokens_total"] == sum(sent.values())
    assert generation["prompts_counted_below_server"] == 0  # the bound held
    assert all(line["prompt_tokens"] >= line["server_prompt_tokens"] for line in lines)


# ----------------------------------------------------------------------------- defect 7


def test_requests_stay_in_flight_without_rounds(tmp_path):
    prompts = [Prompt(id=f"p{i:02d}", messages=_messages("slow" if i == 0 else f"question {i}")) for i in range(12)]
    with ChatServer(delay=lambda user: 1.0 if user == "slow" else 0.05) as server:
        backend = OpenAIBackend(_openai(base_url=server.url, max_concurrency=4))
        generated = generate_all("t", prompts, backend, tmp_path / "g.jsonl", batch_size=2, seed=0)
    assert list(generated.records) == [p.id for p in batch_order(prompts)] and not generated.failed
    assert server.max_in_flight == 4  # --max_concurrency, not --batch_size, bounds what is in flight
    slow_reply = server.spans["slow"][1]
    # Nothing waited for the slow reply: every other request went out while it was still running.
    assert all(start < slow_reply for user, (start, _) in server.spans.items() if user != "slow")


# ----------------------------------------------------------------------------- defect 10


def test_a_refused_prompt_is_recorded_and_the_run_goes_on(evaluate_script, tmp_path):
    refusing = {"ATP": True}
    out = tmp_path / "run"
    with ChatServer(refuse=lambda user: 400 if "ATP" in user and refusing["ATP"] else None) as server:
        argv = ["--model", "m", "--backend", "openai", "--base_url", server.url, "--tasks", "mcq"]
        argv += ["--mcq_data", str(MCQ), "--bootstrap", "20", "--no_plots", "--output_dir", str(out)]
        assert evaluate_script.main(argv) == EXIT_NOT_MEASURED  # written, but part of the run is not measured
        assert len(server.requests) == 3  # the other prompts were still sent, the refusal not retried
        results = json.loads((out / "results.json").read_text())
        failed = results["tasks"]["mcq"]["skipped"]["failed_requests"]
        assert failed["count"] == 1 and failed["items"][0]["id"] == "mcq-fixture-2"
        assert failed["items"][0]["error"].startswith("HTTP 400")
        assert len((out / "samples.jsonl").read_text().splitlines()) == 2  # scored without it
        assert results["tasks"]["mcq"]["missing_metrics"]["generations"].startswith("1 of 3 prompt(s) failed")
        report = (out / "report.md").read_text()
        assert (
            "NOT MEASURED: generations" in report
            and "Failed requests (not scored; a rerun sends them again): 1" in report
        )
        assert (
            evaluate_script.main([*argv, "--allow_missing_metrics"]) == 0
        )  # accepted as it is; the refusal sent again
        assert len(server.requests) == 4

        refusing["ATP"] = False  # the cause fixed: the same command sends only the failed prompt
        assert evaluate_script.main(argv) == 0
        assert len(server.requests) == 5
    results = json.loads((out / "results.json").read_text())
    assert results["tasks"]["mcq"]["skipped"]["failed_requests"]["count"] == 0
    assert "missing_metrics" not in results["tasks"]["mcq"]
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3
