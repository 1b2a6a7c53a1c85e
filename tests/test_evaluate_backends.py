"""The openai backend against a local HTTP server, and the vllm backend's mapping onto a fake vllm."""

from __future__ import annotations

import json
import sys
import types

import pytest
from chat_server import ChatServer

from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.backends import BackendError
from crosstrace.evaluation.backends.openai import OpenAIBackend
from crosstrace.evaluation.backends.vllm import VLLMBackend
from crosstrace.paths import REPO_ROOT
from scripts import load_script

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "evaluation"


def _messages(text):
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def test_openai_backend_keeps_order_sends_decoding_and_bounds_concurrency(monkeypatch):
    monkeypatch.setenv("TEST_KEY", "secret-value")
    with ChatServer(delay=0.05) as server:
        args = EvalArguments(
            model="served-base",
            adapter="my-lora",
            backend="openai",
            base_url=server.url,
            api_key_env="TEST_KEY",
            max_concurrency=2,
            max_new_tokens=64,
        )
        backend = OpenAIBackend(args)
        outputs = backend.generate([_messages(f"question {i}") for i in range(6)], seeds=list(range(6)))
    assert [o.text for o in outputs] == [f"echo: question {i}" for i in range(6)]
    assert all(o.finish_reason == "stop" and o.output_tokens == 2 for o in outputs)
    assert server.max_in_flight <= 2
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer secret-value"
    # The adapter is what the server serves under its own name (vLLM --lora-modules); greedy is explicit.
    assert (
        first["model"] == "my-lora"
        and first["temperature"] == 0.0
        and first["top_p"] == 1.0
        and first["max_tokens"] == 64
    )
    assert sorted(r["seed"] for r in server.requests) == list(range(6))


def test_openai_backend_retries_server_errors():
    with ChatServer(fail_first=2) as server:
        backend = OpenAIBackend(EvalArguments(model="m", backend="openai", base_url=server.url, max_retries=3))
        (output,) = backend.generate([_messages("hello")], seeds=[0])
    assert output.text == "echo: hello" and len(server.requests) == 3


def test_openai_backend_gives_up_after_retries_with_a_clear_error():
    """And sends nothing new once one request failed for good: the prompts still queued are dropped (the run
    stops, a rerun resumes), which must not leave the run waiting on requests that never went out."""
    with ChatServer(fail_first=100) as server:
        backend = OpenAIBackend(
            EvalArguments(model="m", backend="openai", base_url=server.url, max_retries=1, max_concurrency=1)
        )
        with pytest.raises(BackendError, match=r"no answer after 2 attempts.*rerun the same command to resume"):
            backend.generate([_messages(f"hello {i}") for i in range(4)], seeds=[0, 1, 2, 3])
    assert len(server.requests) == 2  # the first prompt's two attempts; the other three never sent


def test_openai_backend_records_a_refused_prompt_and_stops_on_a_setup_error():
    """Defect 10: a 400 (vLLM's answer to a prompt over its context) fails that prompt only, unretried,
    and the others are still answered; a 404 (a model name the server lacks) is wrong for every prompt: it stops."""
    with ChatServer() as server:
        backend = OpenAIBackend(EvalArguments(model="m", backend="openai", base_url=server.url, max_retries=5))
        refused, answered = backend.generate([_messages("bad request"), _messages("hello")], seeds=[0, 1])
        assert refused.finish_reason == "failed" and refused.error.startswith("HTTP 400") and refused.text == ""
        assert answered.text == "echo: hello" and answered.error is None
        assert len(server.requests) == 2  # the refusal was not retried
        with pytest.raises(BackendError, match=r"HTTP 404.*check --model"):
            backend.generate([_messages("unknown model")], seeds=[0])
    assert len(server.requests) == 3


def test_openai_backend_needs_a_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="--base_url"):
        OpenAIBackend(EvalArguments(model="m", backend="openai"))


def test_openai_backend_bounds_tokens_without_a_tokenizer():
    backend = OpenAIBackend(
        EvalArguments(model="m", backend="openai", base_url="http://127.0.0.1:9/v1", max_context_tokens=1000)
    )
    assert backend.count_tokens([{"role": "user", "content": "x" * 30}]) == 30 + 128 + 8  # bytes + template allowance
    assert backend.token_count.startswith("upper bound") and backend.context_length == 1000


# ----------------------------------------------------------------------------- vllm


def test_vllm_backend_without_vllm_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    with pytest.raises(BackendError, match="pip install vllm"):
        VLLMBackend(EvalArguments(model="m", backend="vllm"))


def _fake_vllm(calls: dict) -> types.ModuleType:
    """Just enough of vllm's API (LLM, SamplingParams, LoRARequest) to check how we call it."""
    vllm = types.ModuleType("vllm")
    lora_module = types.ModuleType("vllm.lora")
    request_module = types.ModuleType("vllm.lora.request")

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LoRARequest:
        def __init__(self, name, int_id, path):
            self.args = (name, int_id, path)

    class Tokenizer:
        chat_template = "fake"
        name_or_path = "fake"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            return " ".join(m["content"] for m in messages)

        def __call__(self, text, add_special_tokens):
            return types.SimpleNamespace(input_ids=text.split())

    class LLM:
        def __init__(self, **kwargs):
            calls["engine"] = kwargs
            self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=32768))

        def get_tokenizer(self):
            return Tokenizer()

        def chat(self, conversations, sampling_params, lora_request, use_tqdm):
            calls["chat"] = {"conversations": conversations, "params": sampling_params, "lora": lora_request}
            completion = types.SimpleNamespace(text="ok", finish_reason="length", token_ids=[1, 2, 3])
            return [types.SimpleNamespace(outputs=[completion]) for _ in conversations]

    vllm.LLM, vllm.SamplingParams = LLM, SamplingParams
    request_module.LoRARequest = LoRARequest
    return vllm, lora_module, request_module


def test_vllm_backend_maps_arguments_and_sends_the_adapter_as_a_lora_request(monkeypatch, tmp_path):
    import torch

    calls: dict = {}
    vllm, lora_module, request_module = _fake_vllm(calls)
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.lora", lora_module)
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request_module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    args = EvalArguments(
        model="Qwen/Qwen2.5-7B-Instruct",
        adapter=str(adapter),
        backend="vllm",
        max_new_tokens=99,
        seed=5,
        tensor_parallel_size=2,
        max_context_tokens=8192,
    )
    backend = VLLMBackend(args)

    engine = calls["engine"]
    assert (
        engine["model"] == "Qwen/Qwen2.5-7B-Instruct"
        and engine["enable_lora"] is True
        and engine["max_lora_rank"] == 64
    )
    assert engine["seed"] == 5 and engine["tensor_parallel_size"] == 2 and engine["max_model_len"] == 8192
    assert backend.lora_request.args == ("adapter", 1, str(adapter))
    assert backend.context_length == 8192 and backend.count_tokens([{"role": "user", "content": "a b c"}]) == 3

    outputs = backend.generate([_messages("x"), _messages("y")], seeds=[11, 12])
    assert [o.finish_reason for o in outputs] == ["length", "length"] and outputs[0].output_tokens == 3
    assert calls["chat"]["lora"] is backend.lora_request
    params = calls["chat"]["params"]
    assert [p.kwargs["seed"] for p in params] == [11, 12]
    assert params[0].kwargs == {
        "max_tokens": 99,
        "temperature": 0.0,
        "top_p": 1.0,
        "repetition_penalty": 1.0,
        "seed": 11,
    }


def test_vllm_backend_without_a_gpu_says_so(monkeypatch):
    import torch

    vllm, _, _ = _fake_vllm({})
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackendError, match="CUDA GPU"):
        VLLMBackend(EvalArguments(model="m", backend="vllm"))


# ----------------------------------------------------------------------------- openai, end to end


def _answer_like_a_good_model(prompt: str) -> str:
    """Right answers for the fixture benchmark and MCQs, in the formats the prompts ask for."""
    if "Halden-3" in prompt:
        return 'Here you go: {"q01": {"answer": "48", "citation": "Overview", "confidence": 0.9}, "q02": {"answer": "2.7 aW per root hertz", "citation": "Calibration", "confidence": 0.8}, "q03": {"answer": "32", "citation": "Operations", "confidence": 0.7}, "q04": {"answer": "Halden-3", "citation": "Operations", "confidence": 0.9}}'
    if "lurase" in prompt:
        return '```json\n{"q01": {"answer": "3.5 mM", "citation": "Kinetics", "confidence": 0.9}, "q02": {"answer": "strain K7", "citation": "Background", "confidence": 0.9}, "q03": {"answer": "50", "citation": "Kinetics", "confidence": 0.6}, "q04": {"answer": "morase", "citation": "Related enzymes", "confidence": 0.9}}\n```'
    letters = {"atmosphere": "B", "ATP": "E", "electric charge": "D"}
    return next(f"It is this one.\nAnswer: {letter}" for key, letter in letters.items() if key in prompt)


def test_openai_backend_end_to_end_run(tmp_path):
    script = load_script("evaluate.py")
    out = tmp_path / "run"
    with ChatServer(reply=_answer_like_a_good_model) as server:
        argv = [
            "--model",
            "served-model",
            "--backend",
            "openai",
            "--base_url",
            server.url,
            "--tasks",
            "dacr,mcq",
            "--dacr_benchmarks",
            str(FIXTURES / "bench_small.json"),
        ]
        argv += [
            "--mcq_data",
            str(FIXTURES / "mcq_small.jsonl"),
            "--bootstrap",
            "20",
            "--output_dir",
            str(out),
            "--no_plots",
        ]
        assert script.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["backend"] == "openai" and results["model"]["served_model"] == "served-model"
    assert (
        results["tasks"]["dacr"]["metrics"]["accuracy"] == 1.0
        and results["tasks"]["mcq"]["metrics"]["accuracy"] == 1.0
    )
    assert results["tasks"]["dacr"]["skipped"]["long_documents"]["checked"] is False  # no context length given
    assert len(server.requests) == 5
