"""The IAScore judge end to end against real OpenAI-compatible servers (`transformers serve`).

SmolLM2-135M-Instruct is the judge: its real replies to the versioned judge prompt go through the
client, the cache, the score parser, results.json and report.md. Measured here: under greedy
decoding it answers in prose ("The generated idea is not aligned with the reference idea. ...")
and loops without ever writing a score line (checked up to 160 tokens, on matching and unrelated
ideas; `transformers serve` decodes greedily whatever the temperature unless the model's
generation_config samples), so the honest outcome is "IAScore not measured: no readable score",
exit 3. Then the failures a user meets: a judge model the server does not serve (a real 400), an
unreachable server, and a server too slow for --judge_timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_server import judged_scoring

from crosstrace.evaluation.missing_metrics import EXIT_NOT_MEASURED
from crosstrace.scoring.judge import JUDGE_PROMPT_SHA256, parse_score


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory):
    """`transformers serve` with SmolLM2-135M-Instruct (requirements-demo.txt), for this module only:
    the session's `real_server` is pinned to the tiny model and refuses every other model name."""
    from real_server import start_server

    from crosstrace.models import resolve_model_path

    model_dir = Path(resolve_model_path("builtin:smollm2-135m-instruct"))
    yield from start_server(model_dir, tmp_path_factory.mktemp("smollm2-server"))


@pytest.fixture
def score_one(evaluate_script, tmp_path, monkeypatch):
    return judged_scoring(evaluate_script, tmp_path, monkeypatch, records=(1,))


def _body(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["tasks"]["crosstrace"]


def _judge_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "judge_outputs.jsonl").read_text().splitlines()]


def test_smollm2_judges_through_a_real_server_and_writes_no_readable_score(smollm2_server, score_one):
    # 32 tokens: SmolLM2 writes prose from its first token and no score later either (see the docstring).
    flags = ("--judge_max_tokens", "32", "--judge_seed", "7")
    code, out = score_one(smollm2_server.base_url, *flags, model=smollm2_server.model)

    [entry] = _judge_log(out)
    assert entry["error"] is None and entry["attempts"] == 1 and not entry["cached"]
    assert "idea" in entry["reply"].lower()  # a real instruct model's answer to the judge prompt
    assert entry["score"] is None and parse_score(entry["reply"]) is None
    body = _body(out)
    assert code == EXIT_NOT_MEASURED and "iascore" not in body["metrics"]
    assert (
        "none of 1 pair(s): 0 request(s) failed, 1 reply(ies) had no readable score"
        in (body["missing_metrics"]["iascore"])
    )
    judge = body["scoring"]["judge"]  # the served folder's path is written as <local>/<name>
    assert judge["model"].endswith(Path(smollm2_server.model).name)
    assert (judge["temperature"], judge["repeat_seeds"], judge["max_tokens"]) == (0.0, [7], 32)
    assert judge["prompt_sha256"] == JUDGE_PROMPT_SHA256
    assert "NOT MEASURED: iascore" in (out / "report.md").read_text()

    # Accepting the gap reuses the cached reply: no second request, and the same outcome, exit 0.
    code, again = score_one(smollm2_server.base_url, *flags, "--allow_missing_metrics", model=smollm2_server.model)
    [cached] = _judge_log(again)
    assert code == 0 and cached["cached"] and cached["reply"] == entry["reply"]
    assert _body(again)["missing_metrics"] == body["missing_metrics"]


def test_judges_that_cannot_answer_fail_the_run_and_say_why(real_server, score_one):
    """A model the server does not serve (its real 400, not retried) and a server nobody listens on."""
    from real_server import free_port

    code, out = score_one(real_server.base_url, model="not-served")
    [entry] = _judge_log(out)
    assert code == EXIT_NOT_MEASURED and entry["attempts"] == 1  # a 400 is final
    why = _body(out)["missing_metrics"]["iascore"]
    assert "1 request(s) failed" in why and "HTTP 400" in why and "pinned" in why

    unreachable = f"http://127.0.0.1:{free_port()}/v1"
    code, out = score_one(unreachable, "--judge_max_retries", "1", model="judge")
    assert code == EXIT_NOT_MEASURED
    why = _body(out)["missing_metrics"]["iascore"]
    assert "gave up after 2 attempts" in why and "refused" in why.lower()
    code, _ = score_one(unreachable, "--judge_max_retries", "0", "--allow_missing_metrics", model="judge")
    assert code == 0


def test_a_judge_too_slow_for_its_timeout_is_not_sent_more_work(
    smollm2_server, evaluate_script, tmp_path, monkeypatch
):
    """Defect 1 on a real server: the timed-out request keeps its slot, so the second pair is never sent.
    Last in this module: the server goes on computing the abandoned request until it is killed."""
    score_two = judged_scoring(evaluate_script, tmp_path, monkeypatch, records=(1, 2))
    flags = ("--judge_timeout", "0.2", "--judge_concurrency", "1", "--judge_max_tokens", "64")
    code, out = score_two(smollm2_server.base_url, *flags, model=smollm2_server.model)
    assert code == EXIT_NOT_MEASURED
    errors = sorted(entry["error"] for entry in _judge_log(out))
    assert errors[0].startswith("not sent: 1 request(s) timed out after 0.2 s") and "timed out" in errors[1]
    assert "stopped sending because 1 request(s) timed out" in _body(out)["missing_metrics"]["iascore"]
