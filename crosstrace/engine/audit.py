"""Shortcut audit: can a reader who ignores the authority wording still answer?

On trap questions, a shortcut reader picks one of the two conflicting values by position (the
one mentioned first, or last) or by frequency (the one stated more often). The engine places
and repeats the two values independently of which is correct, so each of these should score
about 50%. Reading the wording (provisional vs authoritative) scores 100% by construction.

On questions without a trap, a shortcut reader answers with the value of the asked attribute
that sits nearest a confirming word (confirmed, final, validated...), or with the first value of
that attribute in the text. Confirming words appear on facts with no conflict at random, so the
first should do no better than the second.

    from crosstrace.engine.audit import shortcut_audit
    rows = shortcut_audit(challenges)     # list of {"heuristic", "questions", "n", "accuracy"}
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from crosstrace.engine.lexicon import AUTHORITATIVE_RE
from crosstrace.engine.numbers import exact
from crosstrace.engine.verify import Reading, read_document

HEURISTICS = (
    ("first mentioned of the two conflicting values", "trap"),
    ("last mentioned of the two conflicting values", "trap"),
    ("the conflicting value stated more often", "trap"),
    ("the authority wording (the skill being taught)", "trap"),
    ("the value nearest a confirming word", "no trap"),
    ("the first value of the asked attribute", "no trap"),
)


def _trap_picks(readings: list[Reading]) -> dict[str, str | None]:
    ordered = sorted(readings, key=lambda r: r.offset)
    counts: dict[str, int] = {}
    for reading in ordered:
        counts[reading.value] = counts.get(reading.value, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    frequent = ranked[0][0] if len(ranked) > 1 and ranked[0][1] > ranked[1][1] else None
    authoritative = [r.value for r in ordered if r.status == "authoritative"]
    return {
        HEURISTICS[0][0]: ordered[0].value,
        HEURISTICS[1][0]: ordered[-1].value,
        HEURISTICS[2][0]: frequent,
        HEURISTICS[3][0]: authoritative[0] if authoritative else None,
    }


def _decisive_step(chain: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The step whose result is the answer, when it reads one attribute (lookup of one entity,
    or a ranking); None for computed, counted or compared answers."""
    steps = [s for s in chain if s["action"] not in ("answer", "reject_trap")]
    last = steps[-1] if steps else None
    if last is None:
        return None
    if last["action"] in ("argmax", "argmin"):
        return last
    if last["action"] == "lookup" and not isinstance(last.get("result"), dict):
        return last
    return None


def audit_challenge(challenge: dict[str, Any]) -> list[tuple[str, bool | None]]:
    """(heuristic, right or wrong or not applicable) for every question of one challenge."""
    read = read_document(challenge["document"]["text"], challenge["source"]["domain"])
    by_key: dict[tuple[str, str], list[Reading]] = {}
    by_attribute: dict[str, list[Reading]] = {}
    for reading in read.readings:
        by_key.setdefault((reading.entity, reading.attribute), []).append(reading)
        by_attribute.setdefault(reading.attribute, []).append(reading)
    cue_offsets = sorted(match.start() for match in AUTHORITATIVE_RE.finditer(challenge["document"]["text"]))
    facts = {f["factId"]: f for f in challenge["facts"]}
    traps = {t["trapId"]: t for t in challenge["traps"]}
    outcomes: list[tuple[str, bool | None]] = []
    for question in challenge["questions"]:
        if question["targetsTrap"]:
            trap = traps[question["targetsTrap"]]
            fact = facts[trap["targetFactId"]]
            correct = str(fact["value"]) if not isinstance(fact["value"], str) else fact["value"]
            picks = _trap_picks(by_key[(fact["entity"], fact["attribute"])])
            for name, _ in HEURISTICS[:4]:
                picked = picks[name]
                outcomes.append((name, None if picked is None else _same_value(picked, correct)))
            continue
        step = _decisive_step(question["reasoningChain"])
        if step is None:
            continue
        candidates = sorted(by_attribute.get(step["attribute"], []), key=lambda r: r.offset)
        if not candidates:
            continue
        nearest = min(candidates, key=lambda r: _distance(r.offset, cue_offsets))
        for name, pick in ((HEURISTICS[4][0], nearest), (HEURISTICS[5][0], candidates[0])):
            answer = pick.entity if step["action"] in ("argmax", "argmin") else pick.value
            outcomes.append((name, _same_value(answer, question["goldAnswer"])))
    return outcomes


def _same_value(a: str, b: str) -> bool:
    """Equal as text, or as numbers ("12.50" and the stored 12.5 are the same value)."""
    if a == b:
        return True
    try:
        return exact(a) == exact(b)
    except (ValueError, ZeroDivisionError):
        return False


def _distance(offset: int, cues: list[int]) -> int:
    if not cues:
        return 1 << 30
    index = bisect_left(cues, offset)
    near = [cues[i] for i in (index - 1, index) if 0 <= i < len(cues)]
    return min(abs(offset - c) for c in near)


def shortcut_audit(challenges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per heuristic: the questions it applies to, how many, and how often it is right."""
    return tally([outcome for challenge in challenges for outcome in audit_challenge(challenge)])


def tally(outcomes: list[tuple[str, bool | None]]) -> list[dict[str, Any]]:
    """Audit rows from the outcomes of `audit_challenge` (which a worker process can compute)."""
    tallies: dict[str, list[int]] = {name: [0, 0] for name, _ in HEURISTICS}
    for name, outcome in outcomes:
        if outcome is None:
            continue
        tallies[name][0] += int(outcome)
        tallies[name][1] += 1
    return [
        {
            "heuristic": name,
            "questions": scope,
            "n": tallies[name][1],
            "accuracy": tallies[name][0] / tallies[name][1] if tallies[name][1] else None,
        }
        for name, scope in HEURISTICS
    ]


def audit_table(rows: list[dict[str, Any]]) -> str:
    """The audit as a Markdown table (printed by the bench and put in the dataset card)."""
    lines = ["| shortcut | questions | n | right |", "| --- | --- | ---: | ---: |"]
    for row in rows:
        accuracy = "n/a" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}%"
        lines.append(f"| {row['heuristic']} | {row['questions']} | {row['n']} | {accuracy} |")
    return "\n".join(lines)
