"""`evaluate.py --mcq_scoring loglik`: options scored by the log-probability of "Answer: <letter>"
after the chat-formatted prompt, checked against independent unbatched forward passes of the tiny
Qwen2 (base and with a LoRA adapter), through a whole run, a resumed run and the score
sub-command; the prompt shared by options that differ only in their last token (one sequence per
question) against one sequence per option, alone and in mixed batches; the vllm backend against a
fake vllm; the openai backend refused."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest
from test_evaluate_backends import _fake_vllm

from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.backends import BackendError
from crosstrace.evaluation.backends.hf import HFBackend
from crosstrace.evaluation.backends.loglik import ScoringSequence, encode_continuations, plan_sequences
from crosstrace.evaluation.backends.openai import OpenAIBackend
from crosstrace.evaluation.backends.vllm import VLLMBackend
from crosstrace.evaluation.tasks import McqTask
from crosstrace.paths import REPO_ROOT

MCQ = REPO_ROOT / "tests" / "fixtures" / "evaluation" / "mcq_small.jsonl"  # three ten-option questions
TINY = "builtin:tiny-qwen2"  # a random 2-layer Qwen2 (hidden 64) with the real Qwen2.5 tokenizer
TOLERANCE = 1e-4
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def backend():
    return HFBackend(EvalArguments(model=TINY, device="cpu", tasks="mcq", mcq_scoring="loglik"))


def _loglik_prompts():
    return McqTask(str(MCQ), scoring="loglik").prompts()


def _unbatched_logprob(model, prompt_ids: list[int], continuation_ids: list[int]) -> float:
    """The reference: one forward pass of one unpadded sequence, summing the continuation tokens' log-probs."""
    import torch

    ids = prompt_ids + continuation_ids
    with torch.inference_mode():
        logits = model(torch.tensor([ids])).logits[0]
    # Row i of logits predicts token i + 1: the rows before each continuation token.
    logprobs = logits[len(prompt_ids) - 1 : -1].float().log_softmax(dim=-1)
    return sum(logprobs[i, token].item() for i, token in enumerate(continuation_ids))


# ----------------------------------------------------------------------------- hf backend


def test_option_logprobs_equal_an_unbatched_forward(backend):
    tokenizer = backend.tokenizer
    prompts = _loglik_prompts()[:2]  # two questions: 20 reference forward passes
    assert all(list(p.continuations) == list("ABCDEFGHIJ") and p.continuations["C"] == "Answer: C" for p in prompts)
    tables = backend.loglikelihood([(p.messages, list(p.continuations.values())) for p in prompts])

    for prompt, table in zip(prompts, tables, strict=True):
        # Independently: the prompt as generate() sees it, and each continuation's own tokens.
        prompt_text = tokenizer.apply_chat_template(prompt.messages, tokenize=False, add_generation_prompt=True)
        assert prompt_text.endswith("<|im_start|>assistant\n")
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False).input_ids
        for (letter, continuation), value in zip(prompt.continuations.items(), table, strict=True):
            joint = tokenizer(prompt_text + continuation, add_special_tokens=False).input_ids
            assert joint[: len(prompt_ids)] == prompt_ids  # the shared prefix is the whole prompt
            continuation_ids = joint[len(prompt_ids) :]
            # "Answer", ":", " C": the letter's token is among those scored.
            assert [tokenizer.decode([t]) for t in continuation_ids] == ["Answer", ":", f" {letter}"]
            assert value == pytest.approx(
                _unbatched_logprob(backend.model, prompt_ids, continuation_ids), abs=TOLERANCE
            )
        assert len(set(table)) > 1  # the letters do change the score


def test_padding_and_batch_composition_do_not_change_scores(backend):
    short = [{"role": "user", "content": "2 + 2?"}]
    long = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": "Which of these gases is a noble gas, and why does its full outer shell matter? " * 3,
        },
    ]
    # Continuations of different lengths: rows end padded against each other on both sides.
    continuations = ["Answer: A", "Answer: B", "Answer: the heaviest of the noble gases, radon"]
    alone_short = backend.loglikelihood([(short, continuations)])
    alone_long = backend.loglikelihood([(long, continuations)])
    together = backend.loglikelihood([(long, continuations), (short, continuations)])
    one_at_a_time = [backend.loglikelihood([(short, [c])])[0][0] for c in continuations]
    assert together[0] == pytest.approx(alone_long[0], abs=TOLERANCE)
    assert together[1] == pytest.approx(alone_short[0], abs=TOLERANCE)
    assert one_at_a_time == pytest.approx(alone_short[0], abs=TOLERANCE)
    # And each equals its own unbatched forward pass.
    prompt_ids, encoded = encode_continuations(backend.tokenizer, long, continuations)
    assert together[0] == pytest.approx(
        [_unbatched_logprob(backend.model, prompt_ids, ids) for ids in encoded], abs=TOLERANCE
    )


def test_a_continuation_that_merges_with_the_prompt_is_scored_after_the_prompts_own_tokens(backend):
    tokenizer = backend.tokenizer
    messages = [{"role": "user", "content": "2 + 2?"}]
    # The prompt ends in "\n"; a continuation starting with "\n" would merge into one "\n\n" token.
    with pytest.warns(UserWarning, match="merges with the end"):
        prompt_ids, (ids,) = encode_continuations(tokenizer, messages, ["\nAnswer: A"])
    assert (
        prompt_ids
        == tokenizer(
            tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
            add_special_tokens=False,
        ).input_ids
    )
    assert ids == tokenizer("\nAnswer: A", add_special_tokens=False).input_ids
    with pytest.warns(UserWarning):
        (value,) = backend.loglikelihood([(messages, ["\nAnswer: A"])])[0]
    assert value == pytest.approx(_unbatched_logprob(backend.model, prompt_ids, ids), abs=TOLERANCE)


def test_scores_go_through_the_adapter(backend, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from crosstrace.models import resolve_model_path

    # A LoRA with random (not zero) B matrices, so it really changes the model's outputs.
    base = AutoModelForCausalLM.from_pretrained(resolve_model_path(TINY))
    lora = get_peft_model(
        base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    )
    lora.save_pretrained(tmp_path / "adapter")
    with_adapter = HFBackend(EvalArguments(model=TINY, adapter=str(tmp_path / "adapter"), device="cpu"))

    (prompt,) = _loglik_prompts()[:1]
    continuations = list(prompt.continuations.values())
    (scores,) = with_adapter.loglikelihood([(prompt.messages, continuations)])
    prompt_ids, encoded = encode_continuations(with_adapter.tokenizer, prompt.messages, continuations)
    assert scores == pytest.approx(
        [_unbatched_logprob(with_adapter.model, prompt_ids, ids) for ids in encoded], abs=TOLERANCE
    )
    # The shared prompt (the default) and one sequence per option agree through the adapter too.
    (per_option,) = with_adapter.loglikelihood([(prompt.messages, continuations)], share_prompt=False)
    assert scores == pytest.approx(per_option, abs=TOLERANCE)
    (base_scores,) = backend.loglikelihood([(prompt.messages, continuations)])
    assert max(abs(a - b) for a, b in zip(scores, base_scores, strict=True)) > 1e-3


# ----------------------------------------------------------------------------- one sequence per question


def test_plan_shares_a_sequence_only_when_continuations_differ_in_their_last_token():
    prompt = [1, 2, 3]
    # "Answer: A" .. "Answer: C" as token ids: the prompt and the shared tokens once, each letter a candidate.
    assert plan_sequences(prompt, [[7, 8, 10], [7, 8, 11], [7, 8, 12]]) == [
        ScoringSequence(ids=[1, 2, 3, 7, 8], scored=2, last_tokens=[10, 11, 12])
    ]
    # One-token continuations of one context: the prompt alone is run.
    assert plan_sequences(prompt, [[10], [11]]) == [ScoringSequence(ids=[1, 2, 3], scored=0, last_tokens=[10, 11])]
    # Differing before the last token, in length, or not to be shared: each continuation whole in a sequence of its own.
    for options in ([[7, 8, 10], [7, 9, 10]], [[7, 8, 10], [7, 8]], [[7, 8], [7, 8, 10]]):
        assert plan_sequences(prompt, options) == [
            ScoringSequence(ids=prompt + ids, scored=len(ids)) for ids in options
        ]
    assert plan_sequences(prompt, [[7, 8, 10], [7, 8, 11]], share_prompt=False) == [
        ScoringSequence(ids=[1, 2, 3, 7, 8, 10], scored=3),
        ScoringSequence(ids=[1, 2, 3, 7, 8, 11], scored=3),
    ]


def _record_sequences(backend, monkeypatch) -> list[list[ScoringSequence]]:
    """The sequences of every call the backend makes to its model while the test runs."""
    calls: list[list[ScoringSequence]] = []
    score = backend._score_sequences

    def recording(sequences):
        calls.append(sequences)
        return score(sequences)

    monkeypatch.setattr(backend, "_score_sequences", recording)
    return calls


def test_one_sequence_per_question_scores_like_one_sequence_per_option(backend, monkeypatch):
    prompts = _loglik_prompts()
    requests = [(p.messages, list(p.continuations.values())) for p in prompts]
    calls = _record_sequences(backend, monkeypatch)
    shared = backend.loglikelihood(requests)
    per_option = backend.loglikelihood(requests, share_prompt=False)

    shared_call, per_option_call = calls
    # "Answer", ":" scored inside each question's one sequence; the ten letters read after it.
    assert [(s.scored, len(s.last_tokens)) for s in shared_call] == [(2, 10)] * len(prompts)
    # The reference: each option whole in its own sequence, as the general path runs it.
    assert len(per_option_call) == 10 * len(prompts) and all(
        s.scored == 3 and not s.last_tokens for s in per_option_call
    )
    for together, apart in zip(shared, per_option, strict=True):
        assert len(together) == 10 and together == pytest.approx(apart, abs=TOLERANCE)


def test_a_mixed_batch_shares_where_it_can_and_scores_each_request_as_alone(backend, monkeypatch):
    question = _loglik_prompts()[0]
    requests = [
        (question.messages, list(question.continuations.values())),  # shared: ten letters after "Answer:"
        (
            [{"role": "user", "content": "Name a noble gas."}],
            ["Answer: A", "Answer: the heaviest of the noble gases, radon"],
        ),  # lengths differ
        (
            [{"role": "user", "content": "Name one."}],
            ["Answer: A", "Option: A"],
        ),  # same length, differ in the first token
        ([{"role": "user", "content": "Pick a letter."}], ["A", "B", "C"]),  # one token each: only the prompt is run
    ]
    calls = _record_sequences(backend, monkeypatch)
    together = backend.loglikelihood(requests)
    (batch,) = calls  # one forward pass for the whole batch
    _, (_, radon) = encode_continuations(backend.tokenizer, *requests[1])
    assert [len(s.last_tokens) for s in batch] == [10, 0, 0, 0, 0, 3]
    assert [s.scored for s in batch] == [2, 3, len(radon), 3, 3, 0]

    for request, scores in zip(requests, together, strict=True):
        (alone,) = backend.loglikelihood([request], share_prompt=False)
        assert len(scores) == len(request[1]) and scores == pytest.approx(alone, abs=TOLERANCE)
    # And the one-token options equal their own unbatched forward pass.
    prompt_ids, encoded = encode_continuations(backend.tokenizer, *requests[-1])
    assert together[-1] == pytest.approx(
        [_unbatched_logprob(backend.model, prompt_ids, ids) for ids in encoded], abs=TOLERANCE
    )


# ----------------------------------------------------------------------------- evaluate.py runs


def _results(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def _run(evaluate_script, out, *extra) -> None:
    argv = [
        "--model",
        TINY,
        "--tasks",
        "mcq",
        "--mcq_data",
        str(MCQ),
        "--mcq_scoring",
        "loglik",
        "--batch_size",
        "2",
        "--bootstrap",
        "20",
        "--no_plots",
        "--run_id",
        "loglik-check",
    ]
    assert evaluate_script.main([*argv, "--output_dir", str(out), *extra]) == 0


def test_run_writes_option_logprobs_and_resumes_to_the_same_results(evaluate_script, tmp_path):
    straight = tmp_path / "straight"
    _run(evaluate_script, straight)
    mcq = _results(straight)["tasks"]["mcq"]
    assert mcq["scoring"]["mcq_scoring"] == "loglik" and mcq["scoring"]["mode"] == "loglik-sum"
    assert mcq["scoring"]["continuation"] == "Answer: {letter}" and mcq["scoring"]["normalization"] == "sum"
    assert mcq["n"]["accuracy"] == 3 and 0.0 <= mcq["metrics"]["accuracy"] <= 1.0
    assert mcq["generation"]["outputs"] == 3 and mcq["generation"]["output_tokens_total"] == 0  # nothing generated
    # The context keeps room for the continuation (9 bytes bound its tokens), not for max_new_tokens.
    assert mcq["skipped"]["long_documents"]["reserved_for_output"] == len("Answer: A")

    rows = [json.loads(line) for line in (straight / "samples.jsonl").read_text().splitlines()]
    gold = {json.loads(line)["id"]: json.loads(line)["answer"] for line in MCQ.read_text().splitlines()}
    assert len(rows) == 3
    for row in rows:
        table = row["option_logprobs"]
        assert list(table) == list("ABCDEFGHIJ") and all(isinstance(v, float) and v < 0 for v in table.values())
        assert row["predicted"] == max(table, key=table.get) and row["correct"] == (
            row["predicted"] == gold[row["id"]]
        )
    assert sum(row["correct"] for row in rows) / 3 == mcq["metrics"]["accuracy"]
    assert [p.name for p in (straight / "generations").iterdir()] == ["mcq-loglik.jsonl"]

    # A run killed after its first question, in the middle of writing the second: rerun it.
    resumed = tmp_path / "resumed"
    (resumed / "generations").mkdir(parents=True)
    first, second, _ = (straight / "generations" / "mcq-loglik.jsonl").read_text().splitlines(keepends=True)
    (resumed / "generations" / "mcq-loglik.jsonl").write_text(first + second[: len(second) // 2])
    _run(evaluate_script, resumed)
    again = _results(resumed)["tasks"]["mcq"]
    for key in ("scoring", "metrics", "n", "ci95", "breakdowns", "problems", "generation"):
        assert again[key] == mcq[key], key
    assert (resumed / "samples.jsonl").read_text() == (straight / "samples.jsonl").read_text()
    assert sorted((resumed / "generations" / "mcq-loglik.jsonl").read_text().splitlines()) == sorted(
        (straight / "generations" / "mcq-loglik.jsonl").read_text().splitlines()
    )

    # The score sub-command rescores the saved tables to the same numbers, no model loaded.
    rescored = tmp_path / "rescored"
    argv = [
        "score",
        "--task",
        "mcq",
        "--mcq_scoring",
        "loglik",
        "--data",
        str(MCQ),
        "--predictions",
        str(straight / "generations" / "mcq-loglik.jsonl"),
    ]
    assert evaluate_script.main([*argv, "--bootstrap", "20", "--no_plots", "--output_dir", str(rescored)]) == 0
    assert _results(rescored)["tasks"]["mcq"]["metrics"] == mcq["metrics"]


def test_score_subcommand_picks_the_most_likely_option_and_reports_bad_tables(evaluate_script, tmp_path):
    def table(best: str) -> str:
        return json.dumps({letter: (-1.0 if letter == best else -5.0) for letter in "ABCDEFGHIJ"})

    lines = [
        {"id": "mcq-fixture-1", "output": table("B")},  # gold B
        {"id": "mcq-fixture-2", "output": table("A")},  # gold E
        {"id": "mcq-fixture-3", "output": json.dumps({"D": -0.1})},  # gold D, but a table missing nine options
    ]
    predictions = tmp_path / "tables.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "scored"
    argv = [
        "score",
        "--task",
        "mcq",
        "--mcq_scoring",
        "loglik",
        "--data",
        str(MCQ),
        "--predictions",
        str(predictions),
        "--bootstrap",
        "20",
        "--no_plots",
        "--output_dir",
        str(out),
    ]
    assert evaluate_script.main(argv) == 0
    mcq = _results(out)["tasks"]["mcq"]
    assert mcq["metrics"]["accuracy"] == pytest.approx(1 / 3) and mcq["n"]["no_answer"] == 1
    assert (
        mcq["problems"]["count"] == 1
        and "mcq-fixture-3" in json.dumps(mcq["problems"])
        and "exactly the options" in json.dumps(mcq["problems"])
    )


def test_generate_and_loglik_outputs_never_share_a_file():
    generate, loglik = McqTask(str(MCQ)), McqTask(str(MCQ), scoring="loglik")
    assert (generate.outputs_name, loglik.outputs_name) == ("mcq", "mcq-loglik")
    assert all(p.continuations is None for p in generate.prompts())
    assert generate.scoring_info()["mcq_scoring"] == "generate"


# ----------------------------------------------------------------------------- other backends


def test_openai_backend_refuses_loglik_before_anything_runs(evaluate_script, capsys):
    argv = [
        "--model",
        "served",
        "--backend",
        "openai",
        "--base_url",
        "http://127.0.0.1:9/v1",
        "--tasks",
        "mcq",
        "--mcq_data",
        str(MCQ),
        "--mcq_scoring",
        "loglik",
    ]
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.parse_command_line(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "chat-completions endpoints do not return" in error and "--backend hf or vllm" in error
    # Programmatic use of the backend says the same.
    with pytest.raises(BackendError, match="--backend hf or vllm"):
        OpenAIBackend(EvalArguments(model="served", backend="openai", base_url="http://127.0.0.1:9/v1")).loglikelihood(
            [([{"role": "user", "content": "q"}], ["Answer: A"])]
        )


def _fake_prompt_logprob(position: int, token: str) -> float:
    return -0.1 * (position + 1) - 0.01 * sum(map(ord, token))


def test_vllm_backend_sums_prompt_logprobs_of_the_continuation_tokens(monkeypatch, tmp_path):
    import torch

    calls: dict = {}
    vllm, lora_module, request_module = _fake_vllm(calls)

    def generate(self, prompts, sampling_params, lora_request, use_tqdm):
        calls["generate"] = {"prompts": prompts, "params": sampling_params, "lora": lora_request}
        # vLLM's shape: None for the first token, then per position {token id: Logprob} holding the token there.
        outputs = []
        for prompt in prompts:
            ids = prompt["prompt_token_ids"]
            positions = [
                {token: SimpleNamespace(logprob=_fake_prompt_logprob(i, token))}
                for i, token in enumerate(ids)
                if i > 0
            ]
            outputs.append(SimpleNamespace(prompt_logprobs=[None, *positions]))
        return outputs

    vllm.LLM.generate = generate
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.lora", lora_module)
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request_module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    (tmp_path / "adapter").mkdir()
    backend = VLLMBackend(EvalArguments(model="m", adapter=str(tmp_path / "adapter"), backend="vllm"))

    # The fake tokenizer splits on spaces and its chat template joins the messages with spaces.
    messages = [{"role": "user", "content": "which one"}]
    tables = backend.loglikelihood([(messages, [" Answer: A", " Answer: B"]), (messages, [" Answer: C"])])
    expected = [
        [_fake_prompt_logprob(2, "Answer:") + _fake_prompt_logprob(3, letter) for letter in "AB"],
        [_fake_prompt_logprob(2, "Answer:") + _fake_prompt_logprob(3, "C")],
    ]
    assert [len(t) for t in tables] == [2, 1]
    assert [v for t in tables for v in t] == pytest.approx([v for t in expected for v in t])
    sent = calls["generate"]
    assert [p["prompt_token_ids"] for p in sent["prompts"]] == [
        ["which", "one", "Answer:", letter] for letter in "ABC"
    ]
    assert sent["params"].kwargs == {"max_tokens": 1, "temperature": 0.0, "prompt_logprobs": 1}
    assert sent["lora"] is backend.lora_request
    # A and B share their first tokens but still go as one sequence each (prompt_logprobs reads only
    # the token there): the same requests and scores as without sharing.
    assert (
        backend.loglikelihood(
            [(messages, [" Answer: A", " Answer: B"]), (messages, [" Answer: C"])], share_prompt=False
        )
        == tables
    )
    assert calls["generate"]["prompts"] == sent["prompts"]


def test_help_documents_the_flag(evaluate_script, capsys):
    with pytest.raises(SystemExit):
        evaluate_script.parse_command_line(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--mcq_scoring {generate,loglik}" in text and "lm-evaluation-harness" in text
