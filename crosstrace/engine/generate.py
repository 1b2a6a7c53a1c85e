"""Assemble one challenge in the DACR-Bench schema, verify it, regenerate it when it fails.

`generate_challenge(seed)` is a pure function of its arguments: every random choice comes from
`random.Random` instances seeded with strings derived from `seed` (string seeds are hashed with
SHA-512 by `random`, the same on every machine), floats are never formatted implicitly, and
nothing reads the clock. The same seed gives the same challenge, byte for byte.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from crosstrace.engine import lexicon
from crosstrace.engine.document import AUTHORITATIVE, DocumentOptions, render_document
from crosstrace.engine.domains import DOMAIN_SPECS, DOMAINS
from crosstrace.engine.numbers import exact, json_number
from crosstrace.engine.questions import (
    BUILDERS,
    Candidate,
    Context,
    TrapInfo,
    decide,
    difficulty,
    entity_of,
    gold_and_aliases,
    hops,
    members_of,
    trap_targeted,
)
from crosstrace.engine.spec import Numeric
from crosstrace.engine.verify import verify_challenge
from crosstrace.engine.world import World, sample_world

ENGINE_VERSION = "1.0"
SCHEMA_VERSION = "1.1"  # the DACR-Bench challenge schema version we write
CATEGORY_WEIGHTS = {
    "direct_extraction": 2.0,
    "multi_hop_bridge": 1.5,
    "comparative": 1.0,
    "computation": 1.5,
    "conditional_filtered": 2.0,
    "cross_section_synthesis": 2.0,
}
VERIFICATION_METHOD = "independent: facts re-read from the rendered text, every question re-solved"


class EngineError(RuntimeError):
    """No valid challenge within the attempt budget (reported with the rejection reasons)."""


def challenge_id(seed: int) -> str:
    return f"ct-engine-{seed}"


def domain_for_seed(seed: int, domains: tuple[str, ...] = DOMAINS) -> str:
    return random.Random(f"crosstrace-engine/{seed}/domain").choice(domains)


def generate_challenge(
    seed: int,
    domain: str | None = None,
    *,
    n_questions: int = 10,
    n_traps: int | None = None,
    n_entities: int | None = None,
    target_chars: int | None = None,
    max_attempts: int = 25,
) -> dict[str, Any]:
    """One verified challenge for `seed` (the domain is drawn from the seed when not given).

    Options: `n_questions` (at least the number of traps), `n_traps` (1-4; default drawn),
    `n_entities` (5 to the domain's 12 names; default 6-9, more for a long `target_chars`),
    `target_chars` (the length prose is padded to; default drawn in 12,500-18,500). A candidate
    that fails verification is rejected and another is drawn from the next attempt seed;
    `metadata.rejectedAttempts` and `metadata.rejections` say how many and why.
    """
    domain = domain or domain_for_seed(seed)
    if domain not in DOMAIN_SPECS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    most = len(DOMAIN_SPECS[domain].name_stems)
    if n_entities is not None and not 5 <= n_entities <= most:
        raise ValueError(f"n_entities must be 5-{most} for {domain}, got {n_entities}")
    rejections: list[str] = []
    for attempt in range(max_attempts):
        rng = random.Random(f"crosstrace-engine/{seed}/{attempt}")
        try:
            challenge = _build(seed, domain, rng, n_questions, n_traps, n_entities, target_chars)
        except _Unbuildable as reason:
            rejections.append(f"attempt {attempt}: {reason}")
            continue
        problems = verify_challenge(challenge)
        if problems:
            rejections.append(
                f"attempt {attempt}: verification failed: {problems[0]}"
                + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
            )
            continue
        challenge["metadata"]["rejectedAttempts"] = attempt
        challenge["metadata"]["rejections"] = rejections
        return challenge
    raise EngineError(f"seed {seed} ({domain}): no valid challenge in {max_attempts} attempts: {rejections[-3:]}")


_REJECTION_KINDS = (
    ("does not resolve", "two values conflict and the wording does not say which holds"),
    ("is not stated", "a fact is not stated in the text"),
    ("text says", "a fact reads back with another value"),
    ("not a fact", "the text states a value that is not a fact"),
    ("re-solved answer", "the gold answer is not reproduced from the text"),
    ("cannot be solved", "a question cannot be solved from the text"),
    ("no question depends on trap", "no question depends on a trap"),
    ("no well-posed", "no well-posed question of a category"),
    ("tie", "a ranking has a tie"),
)


def rejection_kind(reason: str) -> str:
    """A rejection reason without its particulars (entity names, values), for counting."""
    for marker, kind in _REJECTION_KINDS:
        if marker in reason:
            return kind
    return reason.split(": ", 1)[-1][:80]


class _Unbuildable(Exception):
    """This attempt's draw cannot host the requested questions; the next attempt may."""


def _build(
    seed: int,
    domain_name: str,
    rng: random.Random,
    n_questions: int,
    n_traps: int | None,
    n_entities: int | None,
    target_chars: int | None,
) -> dict[str, Any]:
    domain = DOMAIN_SPECS[domain_name]
    if n_entities is None:
        # A longer document needs more entities: filler prose alone adds only a few thousand
        # characters. The default draw (6-9) gives 12,000-18,500 characters.
        low = 6 if target_chars is None else min(len(domain.name_stems), max(6, 6 + (target_chars - 15000) // 1500))
        n_entities = rng.randint(low, min(len(domain.name_stems), low + 3))
    world = sample_world(domain, rng, n_entities)
    options = DocumentOptions(
        target_chars=target_chars or rng.randint(12500, 18500),
        n_traps=n_traps if n_traps is not None else rng.choice((1, 2, 2, 3, 3)),
    )
    if options.n_traps > n_questions:
        raise ValueError(f"n_traps ({options.n_traps}) exceeds n_questions ({n_questions})")
    document = render_document(world, rng, options)
    sections = document.section_names
    mentions: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
    for block in document.blocks:
        for mention, sentence in block.mentions():
            mentions.setdefault((mention.entity, mention.attribute), []).append(
                (block.index, sentence, mention.value, mention.status)
            )
    section_of = {block.index: sections[block.section] for block in document.blocks}

    facts = _facts(world, mentions, section_of)
    traps, trap_infos = [], []
    for number, placed in enumerate(document.traps):
        trap_id = f"t{number:03d}"
        wrong_statements = [(b.index, s.text) for b, s, ok in placed.statements if not ok]
        right_statements = [(b.index, s.text) for b, s, ok in placed.statements if ok]
        attribute = domain.attribute(placed.attribute)
        as_json = json_number if isinstance(attribute, Numeric) else str
        traps.append(
            {
                "trapId": trap_id,
                "targetFactId": world.fact_id(placed.entity, placed.attribute),
                "correctValue": as_json(placed.correct),
                "wrongValue": as_json(placed.wrong),
                "trapLocation": {
                    "section": section_of[wrong_statements[0][0]],
                    "paragraphIndex": wrong_statements[0][0],
                    "injectedText": wrong_statements[0][1],
                },
            }
        )
        trap_infos.append(
            TrapInfo(
                trap_id, placed.entity, placed.attribute, placed.correct, placed.wrong,
                [p for p, _ in right_statements], [p for p, _ in wrong_statements],
                _cues(lexicon.PROVISIONAL_RE, [t for _, t in wrong_statements]), _cues(lexicon.AUTHORITATIVE_RE, [t for _, t in right_statements]),
            )
        )  # fmt: skip

    context = Context(world, rng, {(f["entity"], f["attribute"]): f for f in facts}, document.homes, trap_infos)
    candidates = _questions(context, n_questions)
    questions = [
        _question(index, candidate, results, context) for index, (candidate, results) in enumerate(candidates, start=1)
    ]
    text = document.text
    return {
        "challengeId": challenge_id(seed),
        "version": SCHEMA_VERSION,
        "source": {"type": "engine", "domain": domain_name, "seed": str(seed)},
        "split": "synthetic",
        "document": {
            "text": text,
            "domain": domain_name,
            "wordCount": len(text.split()),
            "paragraphCount": len(document.blocks) + 1,
            "sections": [sections[key] for key in sections if any(b.section == key for b in document.blocks)],
        },
        "facts": facts,
        "traps": traps,
        "questions": questions,
        "metadata": {
            # No wall-clock time: the same seed must give the same bytes.
            "generatedAt": None,
            "verificationPasses": 1,
            "verificationMethod": VERIFICATION_METHOD,
            "engine": f"crosstrace-engine {ENGINE_VERSION}",
        },
    }


def _cues(pattern: Any, sentences: list[str]) -> list[str]:
    found: list[str] = []
    for sentence in sentences:
        for match in pattern.finditer(sentence):
            word = match.group(0).lower()
            if word not in found:
                found.append(word)
    return found


def _facts(
    world: World, mentions: dict[tuple[str, str], list[tuple[int, str, str, str]]], section_of: dict[int, str]
) -> list[dict[str, Any]]:
    domain = world.domain
    facts = []
    for entity in world.entities:
        keys = [(a.key, "numerical") for a in domain.numerics] + [(a.key, "categorical") for a in domain.categoricals]
        if entity in world.relation:
            keys.append((domain.relation.key, "relational"))
        for key, value_type in keys:
            truth = world.relation[entity] if value_type == "relational" else world.values[key][entity]
            stated = [m for m in mentions[(entity, key)] if m[2] == truth]
            # The fact's place is its first authoritative statement when it has one (a trapped
            # fact always does), else its first statement.
            paragraph, sentence, _, _ = next((m for m in stated if m[3] == AUTHORITATIVE), stated[0])
            facts.append(
                {
                    "factId": world.fact_id(entity, key),
                    "entity": entity,
                    "attribute": key,
                    "value": json_number(truth) if value_type == "numerical" else truth,
                    "valueType": value_type,
                    "location": {
                        "section": section_of[paragraph],
                        "paragraphIndex": paragraph,
                        "contextQuote": sentence,
                    },
                }
            )
    return facts


def _questions(context: Context, n_questions: int) -> list[tuple[Candidate, list[Any]]]:
    rng = context.rng
    chosen: list[tuple[Candidate, list[Any]]] = []
    texts: set[str] = set()

    def accept(candidate: Candidate | None) -> bool:
        if candidate is None or candidate.text in texts:
            return False
        results = decide(candidate, context)
        if results is None:
            return False
        texts.add(candidate.text)
        chosen.append((candidate, results))
        return True

    # Every trap gets a question (upstream leaves some traps untargeted; we do not).
    for trap in context.traps:
        if not any(accept(c) for c in trap_targeted(context, trap)):
            raise _Unbuildable(f"no question depends on trap {trap.trap_id}")
    # Then one question of each other category, then weighted draws.
    plan = list(BUILDERS)
    rng.shuffle(plan)
    names, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    while len(plan) < n_questions - len(chosen):
        plan.append(rng.choices(names, weights)[0])
    for category in plan[: n_questions - len(chosen)]:
        if not any(accept(BUILDERS[category](context)) for _ in range(40)):
            raise _Unbuildable(f"no well-posed {category} question")
    rng.shuffle(chosen)
    return chosen


def _question(index: int, candidate: Candidate, results: list[Any], context: Context) -> dict[str, Any]:
    gold, aliases = gold_and_aliases(candidate, results[-1], context)
    chain = _chain(candidate, results, context)
    chain.append({"step": len(chain) + 1, "action": "answer", "result": gold})
    return {
        "questionId": f"q{index:02d}",
        "text": candidate.text,
        "category": candidate.category,
        "hops": hops(candidate.ops),
        "targetsTrap": candidate.trap.trap_id if candidate.trap else None,
        "goldAnswer": gold,
        "goldAnswerAliases": aliases,
        "reasoningChain": chain,
        "difficulty": difficulty(candidate.ops, candidate.trap is not None),
    }


_STEP_REFS = ("entityFromStep", "overFromStep", "valueFromStep")


def _chain(candidate: Candidate, results: list[Any], context: Context) -> list[dict[str, Any]]:
    """The program's steps with their results, the facts and paragraphs each one reads, and a
    `reject_trap` step right after the step that meets the trap."""
    world, facts = context.world, context.facts
    trap = candidate.trap
    steps: list[dict[str, Any]] = []
    renumber: dict[int, int] = {}
    trap_done = False
    for number, (op, result) in enumerate(zip(candidate.ops, results, strict=True), start=1):
        step: dict[str, Any] = {"step": len(steps) + 1, **op}
        for key in _STEP_REFS:
            if key in step:
                step[key] = renumber[step[key]]
        if "operandSteps" in step:
            step["operandSteps"] = [renumber[k] for k in step["operandSteps"]]
        read = _facts_read(op, results, world)
        if read:
            step["factIds"] = [facts[key]["factId"] for key in read]
            step["paragraphs"] = sorted({facts[key]["location"]["paragraphIndex"] for key in read})
        if op["action"] in ("argmax", "argmin", "filter") or (op["action"] == "lookup" and isinstance(result, dict)):
            step["values"] = {
                entity: world.relation[entity]
                if attribute == world.domain.relation.key
                else world.values[attribute][entity]
                for entity, attribute in read
            }
        if op["action"] == "compute":
            step["expression"] = _expression(op, [results[k - 1] for k in op["operandSteps"]], result)
        step["result"] = result
        steps.append(step)
        renumber[number] = step["step"]
        if trap is not None and not trap_done and (trap.entity, trap.attribute) in read:
            trap_done = True
            steps.append(
                {
                    "step": len(steps) + 1,
                    "action": "reject_trap",
                    "trapId": trap.trap_id,
                    "factId": world.fact_id(trap.entity, trap.attribute),
                    "rejectedValue": trap.wrong,
                    "rejectedParagraphs": trap.wrong_paragraphs,
                    "rejectedCues": trap.provisional_cues,
                    "acceptedValue": trap.correct,
                    "acceptedParagraphs": trap.correct_paragraphs,
                    "acceptedCues": trap.authoritative_cues,
                }
            )
    return steps


def _facts_read(op: dict[str, Any], results: list[Any], world: World) -> list[tuple[str, str]]:
    """The (entity, attribute) facts an operation reads from the document."""
    action = op["action"]
    if action == "bridge":
        return [(entity_of(op, results), op["relation"])]
    if action not in ("lookup", "filter", "argmax", "argmin"):
        return []
    if action == "lookup" and "over" not in op and "overFromStep" not in op:
        return [(entity_of(op, results), op["attribute"])]
    return [(entity, op["attribute"]) for entity in members_of(op, results, world)]


def _expression(op: dict[str, Any], operands: list[Any], result: str) -> str:
    formula = op["formula"]
    if formula in ("mean", "sum", "range"):
        values = [f"({v})" if v.startswith("-") else v for v in operands[0].values()]
        if formula == "sum":
            return " + ".join(values) + f" = {result}"
        if formula == "mean":
            return f"({' + '.join(values)}) / {len(values)} = {result}"
        return f"max - min = {max(values, key=_number)} - {min(values, key=_number)} = {result}"
    a, b = (f"({v})" if v.startswith("-") else v for v in operands)
    return {
        "difference": f"{a} - {b} = {result}",
        "absolute_difference": f"|{a} - {b}| = {result}",
        "ratio": f"{a} / {b} = {result}",
        "percent_change": f"({a} - {b}) / {b} x 100 = {result}",
    }[formula]


def _number(text: str) -> Fraction:
    return exact(text.strip("()"))
