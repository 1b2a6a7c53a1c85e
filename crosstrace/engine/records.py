"""Training records for document-reasoning traces: one row layout for engine and upstream rows.

Each row carries the same trace in three forms:
- `messages`: chat SFT, [system, user (the DACR prompt), assistant (the trace)];
- `prompt` / `completion`: TRL's conversational prompt-completion layout (the prompt is every
  message before the assistant's, the completion is the assistant message), so training puts
  loss on the completion only with any chat template;
- `gold_answers` (+ the prompt): what a verifier reward needs (`crosstrace.rewards`), each
  question's gold answer with the spellings a grader should accept, the planted and correct value
  of the trap it targets (the strict rule marks an answer stating the planted value wrong), and
  its evidence paragraphs (the `[P<n>]` numbers of the paragraphs its reasoning chain reads).
Rows from the upstream tuning data (`crosstrace.sources.dacr_tuning`) fill the same columns;
what upstream does not carry (gold answers, domain, seed) is empty or null.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from crosstrace.dacr_prompt import DACR_SYSTEM_PROMPT, render_dacr_prompt
from crosstrace.engine.traces import render_trace

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_GOLD = pa.struct(
    [
        ("question_id", pa.string()),
        ("question", pa.string()),
        ("answer", pa.string()),
        ("aliases", pa.list_(pa.string())),
        ("category", pa.string()),
        ("hops", pa.int32()),
        ("difficulty", pa.string()),
        ("targets_trap", pa.string()),
        ("trap_planted_value", pa.string()),  # null when the question targets no trap
        ("trap_correct_value", pa.string()),
        ("evidence_paragraphs", pa.list_(pa.int32())),  # [P<n>] numbers; empty for upstream rows
    ]
)
TRACE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),  # "engine" or "upstream"
        ("domain", pa.string()),  # the engine domain; "unknown" for upstream rows
        ("challenge_id", pa.string()),
        ("seed", pa.int64()),  # the engine seed; null for upstream rows
        ("messages", pa.list_(_MESSAGE)),
        ("prompt", pa.list_(_MESSAGE)),
        ("completion", pa.list_(_MESSAGE)),
        ("gold_answers", pa.list_(_GOLD)),
        ("reward", pa.float64()),  # upstream's verifier reward; 1.0 for engine traces (verified)
        ("num_questions", pa.int32()),
        ("num_traps", pa.int32()),
    ]
)


def trace_row(
    *, row_id: str, source: str, domain: str, challenge_id: str | None, seed: int | None, messages: list[dict[str, str]],
    gold_answers: list[dict[str, Any]], reward: float | None, num_questions: int | None, num_traps: int | None,
) -> dict[str, Any]:  # fmt: skip
    """A row of `TRACE_SCHEMA`; `messages` must end with the assistant's reply."""
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError(f"{row_id}: the last message must be the assistant's")
    return {
        "id": row_id,
        "source": source,
        "domain": domain,
        "challenge_id": challenge_id,
        "seed": seed,
        "messages": messages,
        "prompt": messages[:-1],
        "completion": messages[-1:],
        "gold_answers": gold_answers,
        "reward": reward,
        "num_questions": num_questions,
        "num_traps": num_traps,
    }


def engine_row(
    challenge: dict[str, Any], system_prompt: str = DACR_SYSTEM_PROMPT, template: str | None = None
) -> dict[str, Any]:
    """The training row for one engine challenge: its prompt, its trace, its gold answers."""
    messages = [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": render_dacr_prompt(challenge, template)},
        {"role": "assistant", "content": render_trace(challenge)},
    ]
    traps = {t["trapId"]: t for t in challenge["traps"]}
    facts = {f["factId"]: f for f in challenge["facts"]}
    gold = [
        {
            "question_id": q["questionId"],
            "question": q["text"],
            "answer": q["goldAnswer"],
            "aliases": q["goldAnswerAliases"],
            "category": q["category"],
            "hops": q["hops"],
            "difficulty": q["difficulty"],
            "targets_trap": q["targetsTrap"],
            **_trap_values(traps.get(q["targetsTrap"])),
            "evidence_paragraphs": evidence_paragraphs(q, traps, facts),
        }
        for q in challenge["questions"]
    ]
    return trace_row(
        row_id=challenge["challengeId"],
        source="engine",
        domain=challenge["source"]["domain"],
        challenge_id=challenge["challengeId"],
        seed=int(challenge["source"]["seed"]),
        messages=messages,
        gold_answers=gold,
        reward=1.0,
        num_questions=len(challenge["questions"]),
        num_traps=len(challenge["traps"]),
    )


def _trap_values(trap: dict[str, Any] | None) -> dict[str, str | None]:
    """A trap's planted and correct values as the text the strict scorer reads (JSON spelling for numbers)."""
    if trap is None:
        return {"trap_planted_value": None, "trap_correct_value": None}
    return {"trap_planted_value": _spelled(trap["wrongValue"]), "trap_correct_value": _spelled(trap["correctValue"])}


def _spelled(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def evidence_paragraphs(
    question: dict[str, Any], traps: dict[str, dict[str, Any]], facts: dict[str, dict[str, Any]]
) -> list[int]:
    """The paragraphs (their `[P<n>]` numbers) a question's reasoning chain reads, plus the
    authoritative statement of the fact its trap targets: what a grounded citation names."""
    paragraphs = {p for step in question["reasoningChain"] for p in step.get("paragraphs") or ()}
    trap = traps.get(question["targetsTrap"])
    if trap is not None:
        paragraphs.add(facts[trap["targetFactId"]]["location"]["paragraphIndex"])
    return sorted(paragraphs)
