"""The IAScore judge: reading odd replies, and retries, concurrency and caching against a local
OpenAI-compatible HTTP server started by the test on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest
from judge_server import Script, chat_reply, judge_server_factory

from crosstrace.scoring.judge import JUDGE_PROMPT_VERSION, SYSTEM_PROMPT, Judge, JudgeConfig, parse_score


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("Score: 0.8", 0.8),
        ("The generated idea matches the reference closely.\n\nScore: 0.75", 0.75),
        ('{"score": 0.9, "reason": "same idea"}', 0.9),
        ("**Score:** 0.7", 0.7),
        ("Score: 8/10", 0.8),
        ("Score: 4 out of 5", 0.8),
        ("I would put it at 8/10", 0.8),
        ("80%", 0.8),
        ("0.6", 0.6),
        ("Final score = 0.55", 0.55),
        ("<think>maybe score 0.1</think>\nScore: 1", 1.0),
        ("Score: 0.3 at first glance... on reflection, Score: 0.6", 0.6),  # the last score wins
        ("Score: 8", None),  # out of range with no scale: not guessed
        ("Score: -0.2", None),
        ("I cannot evaluate these ideas.", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_score(reply, score):
    assert parse_score(reply) == (pytest.approx(score) if score is not None else None)


server = pytest.fixture(judge_server_factory)


def make_judge(base_url, tmp_path=None, sleeps=None, **options):
    config = JudgeConfig(
        base_url=base_url,
        model="judge-model",
        api_key="secret",
        cache_dir=str(tmp_path / "cache") if tmp_path else None,
        **options,
    )
    return Judge(config, sleep=(sleeps.append if sleeps is not None else (lambda _: None)))


def test_scores_pairs_through_the_endpoint(server):
    script = Script([chat_reply("Same core insight.\nScore: 0.8")])
    judge = make_judge(server(script))
    results = judge.score_pairs(["ref idea A", "ref idea B"], ["gen idea A", "gen idea B"])
    assert [r.score for r in results] == [0.8, 0.8]
    request = script.requests[0]
    assert request["model"] == "judge-model" and request["temperature"] == 0.0
    assert request["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "Reference idea:\nref idea" in request["messages"][1]["content"]
    assert script.headers[0]["Authorization"] == "Bearer secret"


def test_retries_with_backoff_then_succeeds(server):
    script = Script([(500, {}, "{}"), (429, {"Retry-After": "0"}, "{}"), chat_reply("Score: 0.5")])
    sleeps: list[float] = []
    judge = make_judge(server(script), sleeps=sleeps)
    [result] = judge.score_pairs(["r"], ["g"])
    assert result.score == 0.5 and result.attempts == 3 and result.error is None
    assert len(script.requests) == 3
    assert 1.0 <= sleeps[0] <= 1.25  # exponential backoff, first step 1 s (+ up to 25% jitter)
    assert sleeps[1] == 0.0  # the server's Retry-After


def test_backoff_grows_exponentially_and_gives_up(server):
    script = Script([(503, {}, '{"error": "overloaded"}')])
    sleeps: list[float] = []
    judge = make_judge(server(script), sleeps=sleeps, max_retries=3, backoff_s=0.5)
    [result] = judge.score_pairs(["r"], ["g"])
    assert result.score is None and "gave up after 4 attempts" in result.error and "503" in result.error
    assert len(script.requests) == 4
    # 0.5 s, 1 s, 2 s, each with up to 25% jitter
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert 0.5 * 2**attempt <= slept <= 0.5 * 2**attempt * 1.25


def test_client_errors_are_not_retried(server):
    script = Script([(400, {}, '{"error": "bad request"}')])
    judge = make_judge(server(script))
    [result] = judge.score_pairs(["r"], ["g"])
    assert result.score is None and "HTTP 400" in result.error and result.attempts == 1
    assert len(script.requests) == 1


def test_unreachable_endpoint_fails_softly():
    judge = make_judge("http://127.0.0.1:9/v1", max_retries=1, timeout_s=2)
    [result] = judge.score_pairs(["r"], ["g"])
    assert result.score is None and "gave up after 2 attempts" in result.error


def test_concurrency_is_bounded(server):
    script = Script([chat_reply("Score: 1")], delay=0.2)
    judge = make_judge(server(script), concurrency=3)
    results = judge.score_pairs([f"r{i}" for i in range(9)], [f"g{i}" for i in range(9)])
    assert all(r.score == 1.0 for r in results)
    assert 2 <= script.max_in_flight <= 3


def test_cache_makes_reruns_free(server, tmp_path):
    script = Script([chat_reply("Score: 0.25")])
    base_url = server(script)
    first = make_judge(base_url, tmp_path).score_pairs(["r1", "r2"], ["g1", "g2"])
    assert len(script.requests) == 2 and not any(r.cached for r in first)
    rerun = make_judge(base_url, tmp_path)
    second = rerun.score_pairs(["r1", "r2"], ["g1", "g2"])
    assert len(script.requests) == 2  # nothing sent again
    assert all(r.cached for r in second) and [r.score for r in second] == [0.25, 0.25]
    assert [r.key for r in second] == [r.key for r in first]
    # Another judge model is another question: not served from the cache.
    other = Judge(
        JudgeConfig(base_url=base_url, model="other-judge", cache_dir=str(tmp_path / "cache")), sleep=lambda _: None
    )
    other.score_pairs(["r1"], ["g1"])
    assert len(script.requests) == 3
    log = rerun.write_log(tmp_path / "judge_outputs.jsonl")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["reply"] == "Score: 0.25" and lines[0]["cached"] is True


def test_unreadable_reply_is_kept_with_no_score(server, tmp_path):
    script = Script([chat_reply("These ideas are quite similar overall.")])
    [result] = make_judge(server(script), tmp_path).score_pairs(["r"], ["g"])
    assert result.score is None and result.error is None and result.reply.startswith("These ideas")


def test_config_from_environment(monkeypatch):
    monkeypatch.setenv("CROSSTRACE_JUDGE_BASE_URL", "http://localhost:8000/v1")
    monkeypatch.setenv("CROSSTRACE_JUDGE_MODEL", "qwen-judge")
    monkeypatch.setenv("CROSSTRACE_JUDGE_API_KEY", "sk-judge")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-model")
    config = JudgeConfig.from_env(concurrency=2)
    assert (config.base_url, config.model, config.api_key, config.concurrency) == (
        "http://localhost:8000/v1",
        "qwen-judge",
        "sk-judge",
        2,
    )
    monkeypatch.delenv("CROSSTRACE_JUDGE_API_KEY")
    assert JudgeConfig.from_env().api_key is None  # never the model's $OPENAI_API_KEY
    assert config.endpoint == "http://localhost:8000/v1/chat/completions"
    assert JudgeConfig.from_env(model="flag-model").model == "flag-model"  # flags win over the environment
    assert "api_key" not in config.describe() and config.describe()["prompt_version"] == JUDGE_PROMPT_VERSION
    monkeypatch.delenv("CROSSTRACE_JUDGE_MODEL")
    with pytest.raises(ValueError, match="CROSSTRACE_JUDGE_MODEL"):
        JudgeConfig.from_env()


# ----------------------------------------------------------------------------- issue 12 defects


def test_judge_key_is_its_own_and_never_the_models(server, monkeypatch, tmp_path):
    """Defect 3: with OPENAI_API_KEY=A and CROSSTRACE_JUDGE_API_KEY=B the judge receives B; without B, nothing."""
    from crosstrace.evaluation.arguments import ScoreArguments
    from crosstrace.evaluation.tasks.crosstrace import build_judges

    script = Script([chat_reply("Score: 1")])
    base_url = server(script)
    monkeypatch.setenv("CROSSTRACE_CACHE", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "model-key-A")
    monkeypatch.setenv("CROSSTRACE_JUDGE_API_KEY", "judge-key-B")
    args = ScoreArguments(task="crosstrace", predictions="p.jsonl", judge_model="j", judge_base_url=base_url)
    [judge] = build_judges(args)
    judge.score_pairs(["r1"], ["g1"])
    monkeypatch.delenv("CROSSTRACE_JUDGE_API_KEY")
    [judge] = build_judges(args)
    judge.score_pairs(["r2"], ["g2"])
    assert [h.get("Authorization") for h in script.headers] == ["Bearer judge-key-B", None]


def test_an_empty_idea_scores_zero_without_a_request(server):
    """Defect 8: no idea, no request (a lenient judge could have given "(none)" credit)."""
    script = Script([chat_reply("Score: 1")])
    judge = make_judge(server(script))
    results = judge.score_pairs(["ref a", "ref b", "ref c"], ["idea a", "", "  \n"])
    assert [r.score for r in results] == [1.0, 0.0, 0.0]
    assert len(script.requests) == 1 and results[1].note and results[1].error is None


def test_cache_key_includes_the_base_url(server, tmp_path):
    """Defect 10: two servers serving one model name do not share replies."""
    first, second = Script([chat_reply("Score: 0.25")]), Script([chat_reply("Score: 0.75")])
    url_a, url_b = server(first), server(second)
    assert [r.score for r in make_judge(url_a, tmp_path).score_pairs(["r"], ["g"])] == [0.25]
    assert [r.score for r in make_judge(url_b, tmp_path).score_pairs(["r"], ["g"])] == [0.75]
    assert len(first.requests) == len(second.requests) == 1


def test_a_client_error_is_recorded_for_its_prompt_and_the_rest_go_on(server, tmp_path):
    """Defect 10: a context-length 400 on one prompt fails that pair only."""

    def reply_for(body):
        if "very long" in body["messages"][1]["content"]:
            return 400, {}, '{"error": {"message": "maximum context length exceeded"}}'
        return chat_reply("Score: 0.5")

    script = Script([], reply_for=reply_for)
    results = make_judge(server(script), tmp_path).score_pairs(["r1", "r2", "r3"], ["g1", "very long", "g3"])
    assert [r.score for r in results] == [0.5, None, 0.5]
    assert "HTTP 400" in results[1].error and "context length" in results[1].error
    assert len(script.requests) == 3


def test_slow_judge_requests_do_not_pile_up(server):
    """Defect 1: a timed-out request is not retried (the server is still on it), and after
    `concurrency` timeouts in a row nothing more is sent: abandoned requests <= concurrency."""
    script = Script([chat_reply("Score: 1")], delay=1.0)
    judge = make_judge(server(script), concurrency=2, timeout_s=0.2, max_retries=5)
    started = time.monotonic()
    results = judge.score_pairs([f"r{i}" for i in range(8)], [f"g{i}" for i in range(8)])
    assert time.monotonic() - started < 1.0
    assert len(script.requests) == 2  # was 8 pairs x 6 attempts
    assert all(r.score is None for r in results)
    assert "timed out after 0.2 s" in results[0].error and "not sent" in results[-1].error
    assert "--judge_timeout" in judge.gave_up


def test_judge_settings_come_from_the_flags(monkeypatch, tmp_path):
    """Defect 1: timeout, concurrency, max_tokens and retries are the judge's own flags."""
    from crosstrace.evaluation.arguments import ScoreArguments
    from crosstrace.evaluation.tasks.crosstrace import build_judges

    monkeypatch.setenv("CROSSTRACE_CACHE", str(tmp_path))
    args = ScoreArguments(
        task="crosstrace",
        predictions="p.jsonl",
        judge_model="j",
        judge_base_url="http://127.0.0.1:9/v1",
        judge_timeout=900.0,
        judge_concurrency=1,
        judge_max_tokens=2048,
        judge_max_retries=0,
    )
    [judge] = build_judges(args)
    config = judge.config
    assert (config.timeout_s, config.concurrency, config.max_tokens, config.max_retries) == (900.0, 1, 2048, 0)


def test_repeats_have_their_own_seeds_and_cache_entries(server, tmp_path):
    """Trust: each repeat is sent its own seed and cached under its own key; the spread is reported."""
    from crosstrace.scoring.judge import JUDGE_PROMPT_SHA256
    from crosstrace.scoring.judge_stats import judge_spread

    def reply_for(body):
        return chat_reply(f"Score: {0.5 + 0.1 * body['seed']}")  # a judge whose score moves with the seed

    script = Script([], reply_for=reply_for)
    base_url = server(script)
    judge = make_judge(base_url, tmp_path, repeats=3, seed=0, temperature=0.7)
    results = judge.score_pairs(["r1", "r2"], ["g1", "g2"])
    assert sorted(r["seed"] for r in script.requests) == [0, 0, 1, 1, 2, 2]
    assert {r["temperature"] for r in script.requests} == {0.7}
    assert results[0].repeat_scores == pytest.approx([0.5, 0.6, 0.7]) and results[0].score == pytest.approx(0.6)
    spread = judge_spread(results)
    assert spread["repeats"] == 3 and spread["repeat_means_range"] == pytest.approx([0.5, 0.7])
    assert spread["pair_sd_mean"] == pytest.approx(0.1)
    again = make_judge(base_url, tmp_path, repeats=3, seed=0, temperature=0.7).score_pairs(["r1"], ["g1"])
    assert len(script.requests) == 6 and again[0].cached  # each repeat came from its own cache entry
    described = judge.config.describe()
    assert described["repeat_seeds"] == [0, 1, 2] and described["temperature"] == 0.7
    assert described["prompt_sha256"] == JUDGE_PROMPT_SHA256 and len(JUDGE_PROMPT_SHA256) == 64


def test_two_judges_each_with_their_own_url_and_key(server, monkeypatch, tmp_path):
    """Trust: --judge_model a,b sends each judge to its own server with its own key; agreement is computed."""
    from crosstrace.evaluation.arguments import ScoreArguments
    from crosstrace.evaluation.tasks.crosstrace import build_judges
    from crosstrace.scoring.judge_stats import judge_agreement

    first, second = Script([chat_reply("Score: 0.5")]), Script([chat_reply("Score: 1.0")])
    monkeypatch.setenv("CROSSTRACE_CACHE", str(tmp_path))
    monkeypatch.setenv("KEY_A", "a-key")
    monkeypatch.setenv("KEY_B", "b-key")
    args = ScoreArguments(
        task="crosstrace",
        predictions="p.jsonl",
        judge_model="judge-a,judge-b",
        judge_base_url=f"{server(first)},{server(second)}",
        judge_api_key_env="KEY_A,KEY_B",
    )
    judge_a, judge_b = build_judges(args)
    scores_a = judge_a.score_pairs(["r1", "r2"], ["g1", "g2"])
    scores_b = judge_b.score_pairs(["r1", "r2"], ["g1", "g2"])
    assert {r["model"] for r in first.requests} == {"judge-a"} and {r["model"] for r in second.requests} == {"judge-b"}
    assert first.headers[0]["Authorization"] == "Bearer a-key" and second.headers[0]["Authorization"] == "Bearer b-key"
    agreement = judge_agreement(scores_a, scores_b)
    assert agreement["pairs"] == 2 and agreement["mean_abs_difference"] == pytest.approx(0.5)
    assert agreement["within_tolerance"] == 0.0 and agreement["pearson_r"] is None  # constant scores
