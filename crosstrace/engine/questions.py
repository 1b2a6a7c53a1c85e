"""Questions in the seven DACR categories, as small programs over the document's facts.

A question is a list of operations (its `reasoningChain`): lookup, filter, argmax/argmin,
bridge (follow a relation), select (pick the larger of values already read), compute, count,
then answer. The generator runs the program on the truth to get the gold answer, and again
with each trap's wrong value swapped in: a trap question must change answer under its trap,
and any other question must not change under any trap (otherwise it is discarded), so
`targetsTrap` is exact. The verifier (`verify.py`) runs the same chain with its own executor
on facts it reads back from the text.

Hops are the number of operations that read the document (lookup, filter, argmax, argmin,
bridge); select, compute, count, reject_trap and answer are operations on what was read.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from crosstrace.engine.numbers import exact, fixed, numeric_aliases
from crosstrace.engine.spec import Categorical, Domain, Numeric
from crosstrace.engine.world import View, World
from crosstrace.number_words import number_words

HOP_ACTIONS = ("lookup", "filter", "argmax", "argmin", "bridge")
COUNT_WORDS = {2: "two", 3: "three"}


@dataclass
class TrapInfo:
    trap_id: str
    entity: str
    attribute: str
    correct: str
    wrong: str
    correct_paragraphs: list[int]
    wrong_paragraphs: list[int]
    provisional_cues: list[str]
    authoritative_cues: list[str]


@dataclass
class Context:
    world: World
    rng: random.Random
    facts: dict[tuple[str, str], dict[str, Any]]  # (entity, attribute) -> DACR fact
    homes: dict[str, str]
    traps: list[TrapInfo]

    @property
    def domain(self) -> Domain:
        return self.world.domain

    def numerics(self) -> list[Numeric]:
        return list(self.domain.numerics)

    def categoricals(self) -> list[Categorical]:
        return list(self.domain.categoricals)


@dataclass
class Candidate:
    category: str
    text: str
    ops: list[dict[str, Any]]
    # Spelling of a computed answer: (kind, attribute) where kind is "value", "percent", "ratio" or "count".
    answer_kind: tuple[str, str | None] = ("value", None)
    trap: TrapInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- the generator's executor ---------------------------------------------------------------


def members_of(op: dict[str, Any], results: list[Any], world: World) -> list[str]:
    """The entities an operation ranges over: a named list, all of them, or an earlier result."""
    if "overFromStep" in op:
        over = results[op["overFromStep"] - 1]
        return list(over) if not isinstance(over, str) else [over]
    over = op.get("over", "all")
    return list(world.entities) if over == "all" else list(over)


def entity_of(op: dict[str, Any], results: list[Any]) -> str:
    """The entity an operation is about: named, or an earlier step's result."""
    return results[op["entityFromStep"] - 1] if "entityFromStep" in op else op["entity"]


def run(ops: list[dict[str, Any]], view: View) -> list[Any]:
    """The result of every operation, on `view`. Ties in argmax/argmin raise `Tie`."""
    world = view.world
    results: list[Any] = []
    for op in ops:
        action = op["action"]
        if action == "lookup":
            if "overFromStep" in op or "over" in op:
                results.append({e: view.value(e, op["attribute"]) for e in members_of(op, results, world)})
            else:
                results.append(view.value(entity_of(op, results), op["attribute"]))
        elif action == "filter":
            target = results[op["valueFromStep"] - 1] if "valueFromStep" in op else op["value"]
            members = members_of(op, results, world)
            results.append([e for e in members if _compare(view.value(e, op["attribute"]), op["operator"], target)])
        elif action in ("argmax", "argmin"):
            members = members_of(op, results, world)
            results.append(_extreme({e: view.number(e, op["attribute"]) for e in members}, action == "argmax"))
        elif action == "bridge":
            results.append(view.value(entity_of(op, results), op["relation"]))
        elif action == "select":
            values = {ops[k - 1]["entity"]: exact(results[k - 1]) for k in op["operandSteps"]}
            results.append(_extreme(values, op["mode"] == "max"))
        elif action == "compute":
            results.append(_compute(op, [results[k - 1] for k in op["operandSteps"]]))
        elif action == "count":
            results.append(str(len(results[op["overFromStep"] - 1])))
        elif action in ("reject_trap", "answer"):
            results.append(results[-1] if results else None)
        else:
            raise ValueError(f"unknown action {action!r}")
    return results


class Tie(ValueError):
    """Two entities share the extreme value: the question has no single answer."""


def _extreme(values: dict[str, Fraction], largest: bool) -> str:
    if not values:
        raise Tie("empty set")
    best = max(values.values()) if largest else min(values.values())
    winners = [e for e, v in values.items() if v == best]
    if len(winners) != 1:
        raise Tie(f"tie between {winners}")
    return winners[0]


def _compare(value: str, operator: str, target: str) -> bool:
    if operator == "==":
        return value == target
    left, right = exact(value), exact(target)
    return left > right if operator == ">" else left < right


def _compute(op: dict[str, Any], operands: list[Any]) -> str:
    formula, decimals = op["formula"], op["decimals"]
    if formula in ("mean", "sum", "range"):
        numbers = [exact(v) for v in operands[0].values()]
        value = {"mean": sum(numbers) / len(numbers), "sum": sum(numbers), "range": max(numbers) - min(numbers)}[
            formula
        ]
    else:
        a, b = exact(operands[0]), exact(operands[1])
        value = {
            "difference": a - b,
            "absolute_difference": abs(a - b),
            "ratio": a / b,
            "percent_change": (a - b) / b * 100,
        }[formula]
    return fixed(value, decimals)


# --- wording helpers ------------------------------------------------------------------------


def _or_list(names: list[str], word: str = "or") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {word} " + names[-1]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _threshold(values: list[Fraction], decimals: int, rng: random.Random) -> tuple[str, list[Fraction]] | None:
    """A threshold strictly between two adjacent values, written at the attribute's precision
    (one more decimal when no such number exists), and the values above it."""
    ordered = sorted(values)
    if len(ordered) < 3:
        return None
    cut = rng.randrange(1, len(ordered) - 1)
    low, high = ordered[cut - 1], ordered[cut]
    for places in (decimals, decimals + 1, decimals + 2):
        text = fixed((low + high) / 2, places)
        if low < exact(text) < high:
            return text, ordered[cut:]
    return None


# --- builders, one per category ---------------------------------------------------------------

Builder = Callable[[Context], Candidate | None]


def direct_extraction(ctx: Context) -> Candidate | None:
    rng, domain = ctx.rng, ctx.domain
    entity = rng.choice(ctx.world.entities)
    pick = rng.random()
    if pick < 0.55:
        attribute: Numeric | Categorical = rng.choice(ctx.numerics())
        text = rng.choice(
            ("What is the {label} of {E}?", "What {label} was reported for {E}?", "Give the {label} of {E}.")
        )
    elif pick < 0.85:
        attribute = rng.choice(ctx.categoricals())
        text = rng.choice(("What is the {label} of {E}?", "Which {label} is reported for {E}?"))
    else:
        if entity not in ctx.world.relation:
            return None
        relation = domain.relation
        phrase = relation.question_phrase.replace("{E}", entity)
        return Candidate(
            "direct_extraction",
            f"Which {domain.kind} is {phrase}?",
            [{"action": "lookup", "attribute": relation.key, "entity": entity}],
        )
    return Candidate(
        "direct_extraction",
        text.replace("{label}", attribute.label).replace("{E}", entity),
        [{"action": "lookup", "attribute": attribute.key, "entity": entity}],
    )


def multi_hop_bridge(ctx: Context) -> Candidate | None:
    rng, domain, world = ctx.rng, ctx.domain, ctx.world
    relation = domain.relation
    target: Numeric | Categorical = rng.choice(ctx.numerics() + ctx.categoricals())
    if rng.random() < 0.7:
        starts = [e for e in world.entities if world.chain(e)]
        if not starts:
            return None
        entity = rng.choice(starts)
        depth = rng.randint(1, min(3, len(world.chain(entity))))
        ops: list[dict[str, Any]] = [{"action": "bridge", "relation": relation.key, "entity": entity}]
        ops += [{"action": "bridge", "relation": relation.key, "entityFromStep": k} for k in range(1, depth)]
        ops.append({"action": "lookup", "attribute": target.key, "entityFromStep": depth})
        if depth == 1:
            text = f"What is the {target.label} of {relation.question_phrase.replace('{E}', entity)}?"
        else:
            text = rng.choice(
                (
                    f"Starting from {entity}, follow the {relation.label} link {COUNT_WORDS[depth]} times. What is the {target.label} of the {domain.kind} you reach?",
                    f"Follow the {relation.label} links from {entity} for {COUNT_WORDS[depth]} steps. What is the {target.label} of the {domain.kind} reached?",
                )
            )
        return Candidate("multi_hop_bridge", text, ops)
    ranking = rng.choice(ctx.numerics())
    most = rng.random() < 0.5
    superlative = ranking.most if most else ranking.least
    ops = [
        {"action": "argmax" if most else "argmin", "attribute": ranking.key, "over": "all"},
        {"action": "bridge", "relation": relation.key, "entityFromStep": 1},
        {"action": "lookup", "attribute": target.key, "entityFromStep": 2},
    ]
    text = f"What is the {target.label} of the {domain.kind} that the {domain.kind} with the {superlative} {ranking.label} {relation.chain_verb}?"
    return Candidate("multi_hop_bridge", text, ops)


def comparative(ctx: Context) -> Candidate | None:
    rng = ctx.rng
    attribute = rng.choice(ctx.numerics())
    names = rng.sample(ctx.world.entities, rng.choice((2, 2, 3)))
    most = rng.random() < 0.5
    superlative = attribute.most if most else attribute.least
    ops: list[dict[str, Any]] = [{"action": "lookup", "attribute": attribute.key, "entity": name} for name in names]
    ops.append({"action": "select", "mode": "max" if most else "min", "operandSteps": list(range(1, len(names) + 1))})
    if len(names) == 2:
        text = rng.choice(
            (
                f"Which has the {superlative} {attribute.label}: {names[0]} or {names[1]}?",
                f"Between {names[0]} and {names[1]}, which has the {superlative} {attribute.label}?",
            )
        )
    else:
        text = f"Of {_or_list(names, 'and')}, which has the {superlative} {attribute.label}?"
    return Candidate("comparative", text, ops)


def _group_filter(ctx: Context, minimum: int = 2) -> tuple[Categorical, str, list[str]] | None:
    attribute = ctx.rng.choice(ctx.categoricals())
    groups: dict[str, list[str]] = {}
    for entity in ctx.world.entities:
        groups.setdefault(ctx.world.values[attribute.key][entity], []).append(entity)
    usable = sorted(value for value, members in groups.items() if len(members) >= minimum)
    if not usable:
        return None
    value = ctx.rng.choice(usable)
    return attribute, value, groups[value]


def _where(attribute: Categorical, value: str, kinds: str) -> str:
    return f"the {kinds} whose {attribute.label} is {value}"


def _trap_superlative_in_group(
    category: Categorical, value: str, ranking: Numeric, largest: bool, kinds: str, trap: TrapInfo
) -> Candidate:
    """Among the entities whose `category` is `value`, which has the largest (or smallest) `ranking`?"""
    ops = [
        {"action": "filter", "attribute": category.key, "operator": "==", "value": value, "over": "all"},
        {"action": "argmax" if largest else "argmin", "attribute": ranking.key, "overFromStep": 1},
    ]
    superlative = ranking.most if largest else ranking.least
    text = f"Among {_where(category, value, kinds)}, which has the {superlative} {ranking.label}?"
    return Candidate("trap_targeted", text, ops, trap=trap)


def computation(ctx: Context) -> Candidate | None:
    rng, domain = ctx.rng, ctx.domain
    attribute = rng.choice(ctx.numerics())
    form = rng.choice(("difference", "difference", "ratio", "percent_change", "mean", "sum", "range"))
    if form in ("ratio", "percent_change") and attribute.low <= 0:
        form = "difference"  # ratios of quantities that can be zero or negative mean nothing
    if form in ("difference", "ratio", "percent_change"):
        a, b = rng.sample(ctx.world.entities, 2)
        if form != "ratio" and exact(ctx.world.values[attribute.key][a]) < exact(ctx.world.values[attribute.key][b]):
            a, b = b, a
        ops: list[dict[str, Any]] = [
            {"action": "lookup", "attribute": attribute.key, "entity": a},
            {"action": "lookup", "attribute": attribute.key, "entity": b},
        ]
        decimals = {"difference": attribute.decimals, "ratio": 2, "percent_change": 1}[form]
        ops.append({"action": "compute", "formula": form, "operandSteps": [1, 2], "decimals": decimals})
        text = {
            "difference": rng.choice(
                (
                    f"By how much does the {attribute.label} of {a} exceed that of {b}?",
                    f"How much higher is the {attribute.label} of {a} than that of {b}?",
                )
            ),
            "ratio": f"What is the ratio of the {attribute.label} of {a} to that of {b}? Round to two decimal places.",
            "percent_change": f"By what percentage is the {attribute.label} of {a} higher than that of {b}? Round to one decimal place.",
        }[form]
        kind = {"difference": "value", "ratio": "ratio", "percent_change": "percent"}[form]
        return Candidate("computation", text, ops, (kind, attribute.key))
    if form == "range":
        ops = [
            {"action": "lookup", "attribute": attribute.key, "over": "all"},
            {"action": "compute", "formula": "range", "operandSteps": [1], "decimals": attribute.decimals},
        ]
        text = f"What is the difference between the {attribute.most} and the {attribute.least} {attribute.label} across all {domain.kinds}?"
        return Candidate("computation", text, ops, ("value", attribute.key))
    if form == "sum" and not attribute.summable:
        return None
    group = _group_filter(ctx)
    if group is None:
        return None
    category, value, _ = group
    decimals = attribute.decimals + (1 if form == "mean" else 0)
    ops = [
        {"action": "filter", "attribute": category.key, "operator": "==", "value": value, "over": "all"},
        {"action": "lookup", "attribute": attribute.key, "overFromStep": 1},
        {"action": "compute", "formula": form, "operandSteps": [2], "decimals": decimals},
    ]
    where = _where(category, value, domain.kinds)
    if form == "mean":
        text = f"What is the mean {attribute.label} of {where}? Give {number_words(decimals)} decimal place{'s' if decimals != 1 else ''}."
    else:
        text = f"What is the total {attribute.label} of {where}?"
    return Candidate("computation", text, ops, ("value", attribute.key))


def conditional_filtered(ctx: Context) -> Candidate | None:
    rng, domain = ctx.rng, ctx.domain
    group = _group_filter(ctx)
    if group is None:
        return None
    category, value, members = group
    ranking = rng.choice(ctx.numerics())
    most = rng.random() < 0.5
    superlative = ranking.most if most else ranking.least
    where = _where(category, value, domain.kinds)
    first = {"action": "filter", "attribute": category.key, "operator": "==", "value": value, "over": "all"}
    form = rng.choice(("extreme", "extreme", "threshold", "count", "extreme_then_lookup"))
    if form == "extreme":
        ops = [first, {"action": "argmax" if most else "argmin", "attribute": ranking.key, "overFromStep": 1}]
        text = rng.choice(
            (
                f"Among {where}, which has the {superlative} {ranking.label}?",
                f"Considering only {where}, which one has the {superlative} {ranking.label}?",
            )
        )
        return Candidate("conditional_filtered", text, ops)
    gate = rng.choice([a for a in ctx.numerics() if a.key != ranking.key])
    cut = _threshold([exact(ctx.world.values[gate.key][e]) for e in members], gate.decimals, rng)
    if cut is None:
        return None
    threshold, above = cut
    written = gate.quantity(threshold)
    if form == "threshold":
        if len(above) < 2:
            return None
        ops = [
            first,
            {"action": "filter", "attribute": gate.key, "operator": ">", "value": threshold, "overFromStep": 1},
            {"action": "argmax" if most else "argmin", "attribute": ranking.key, "overFromStep": 2},
        ]
        text = f"Among {where} and whose {gate.label} is above {written}, which has the {superlative} {ranking.label}?"
        return Candidate("conditional_filtered", text, ops)
    if form == "count":
        ops = [
            first,
            {"action": "filter", "attribute": gate.key, "operator": ">", "value": threshold, "overFromStep": 1},
            {"action": "count", "overFromStep": 2},
        ]
        text = f"How many of {where} have a {gate.label} above {written}?"
        return Candidate("conditional_filtered", text, ops, ("count", None))
    reported = rng.choice([a for a in ctx.categoricals() if a.key != category.key] or [category])
    ops = [
        first,
        {"action": "argmax" if most else "argmin", "attribute": ranking.key, "overFromStep": 1},
        {"action": "lookup", "attribute": reported.key, "entityFromStep": 2},
    ]
    text = f"Among {where}, take the one with the {superlative} {ranking.label}. What is its {reported.label}?"
    return Candidate("conditional_filtered", text, ops)


def cross_section_synthesis(ctx: Context) -> Candidate | None:
    rng, domain, world = ctx.rng, ctx.domain, ctx.world
    relation = domain.relation
    category = rng.choice(ctx.categoricals())
    first, second, third = rng.sample(ctx.numerics(), 3)
    most = rng.random() < 0.5
    least_second = rng.random() < 0.5
    form = rng.choice(("pivot", "pivot_report", "pivot_bridge", "pivot_difference", "filter_report", "bridge_pivot"))
    sup1 = first.most if most else first.least
    sup2 = second.least if least_second else second.most
    pivot = [
        {"action": "argmax" if most else "argmin", "attribute": first.key, "over": "all"},
        {"action": "lookup", "attribute": category.key, "entityFromStep": 1},
        {"action": "filter", "attribute": category.key, "operator": "==", "valueFromStep": 2, "over": "all"},
        {"action": "argmin" if least_second else "argmax", "attribute": second.key, "overFromStep": 3},
    ]
    opening = f"Find the {domain.kind} with the {sup1} {first.label} and note its {category.label}. Among all {domain.kinds} with that {category.label}, which has the {sup2} {second.label}?"
    answer_kind: tuple[str, str | None] = ("value", None)
    if form == "pivot":
        ops, text = pivot, opening
    elif form == "pivot_report":
        ops = [*pivot, {"action": "lookup", "attribute": third.key, "entityFromStep": 4}]
        text = f"{opening} Give that {domain.kind}'s {third.label}."
    elif form == "pivot_bridge":
        ops = [
            *pivot,
            {"action": "bridge", "relation": relation.key, "entityFromStep": 4},
            {"action": "lookup", "attribute": third.key, "entityFromStep": 5},
        ]
        text = f"{opening} Then give the {third.label} of the {domain.kind} it {relation.chain_verb}."
    elif form == "pivot_difference":
        ops = [
            *pivot,
            {"action": "lookup", "attribute": third.key, "entityFromStep": 4},
            {"action": "lookup", "attribute": third.key, "entityFromStep": 1},
            {
                "action": "compute",
                "formula": "absolute_difference",
                "operandSteps": [5, 6],
                "decimals": third.decimals,
            },
        ]
        text = f"{opening} By how much does its {third.label} differ from that of the first {domain.kind}? Give the absolute difference."
        answer_kind = ("value", third.key)
    elif form == "filter_report":
        group = _group_filter(ctx)
        if group is None:
            return None
        category, value, _ = group
        ops = [
            {"action": "filter", "attribute": category.key, "operator": "==", "value": value, "over": "all"},
            {"action": "argmax" if most else "argmin", "attribute": first.key, "overFromStep": 1},
            {"action": "lookup", "attribute": second.key, "entityFromStep": 2},
        ]
        text = f"Among {_where(category, value, domain.kinds)}, find the one with the {sup1} {first.label}, and give its {second.label}."
    else:
        starts = [e for e in world.entities if e in world.relation]
        if not starts:
            return None
        entity = rng.choice(starts)
        ops = [
            {"action": "bridge", "relation": relation.key, "entity": entity},
            {"action": "lookup", "attribute": category.key, "entityFromStep": 1},
            {"action": "filter", "attribute": category.key, "operator": "==", "valueFromStep": 2, "over": "all"},
            {"action": "argmin" if least_second else "argmax", "attribute": second.key, "overFromStep": 3},
        ]
        text = f"Take {relation.question_phrase.replace('{E}', entity)} and note its {category.label}. Among all {domain.kinds} with that {category.label}, which has the {sup2} {second.label}?"
    return Candidate("cross_section_synthesis", text, ops, answer_kind)


BUILDERS: dict[str, Builder] = {
    "direct_extraction": direct_extraction,
    "multi_hop_bridge": multi_hop_bridge,
    "comparative": comparative,
    "computation": computation,
    "conditional_filtered": conditional_filtered,
    "cross_section_synthesis": cross_section_synthesis,
}


def trap_targeted(ctx: Context, trap: TrapInfo) -> list[Candidate]:
    """Candidate questions whose answer depends on `trap`; the caller keeps those that do."""
    domain, rng, world = ctx.domain, ctx.rng, ctx.world
    attribute = domain.attribute(trap.attribute)
    entity = trap.entity
    out = []
    lookup = rng.choice(
        ("What is the {label} of {E}?", "What {label} is reported for {E}?", "Give the {label} of {E}.")
    )
    out.append(
        Candidate(
            "trap_targeted",
            lookup.replace("{label}", attribute.label).replace("{E}", entity),
            [{"action": "lookup", "attribute": attribute.key, "entity": entity}],
            trap=trap,
        )
    )
    if isinstance(attribute, Numeric):
        for largest in (True, False):
            superlative = attribute.most if largest else attribute.least
            out.append(
                Candidate(
                    "trap_targeted",
                    f"Which {domain.kind} has the {superlative} {attribute.label}?",
                    [{"action": "argmax" if largest else "argmin", "attribute": attribute.key, "over": "all"}],
                    trap=trap,
                )
            )
        other = rng.choice([e for e in world.entities if e != entity])
        a, b = (entity, other) if exact(trap.correct) > exact(world.values[attribute.key][other]) else (other, entity)
        ops: list[dict[str, Any]] = [
            {"action": "lookup", "attribute": attribute.key, "entity": a},
            {"action": "lookup", "attribute": attribute.key, "entity": b},
        ]
        ops.append(
            {"action": "compute", "formula": "difference", "operandSteps": [1, 2], "decimals": attribute.decimals}
        )
        out.append(
            Candidate(
                "trap_targeted",
                f"By how much does the {attribute.label} of {a} exceed that of {b}?",
                ops,
                ("value", attribute.key),
                trap=trap,
            )
        )
        group = _group_filter(ctx)
        if group is not None and entity in group[2]:
            category, value, _ = group
            largest = rng.random() < 0.5
            out.append(_trap_superlative_in_group(category, value, attribute, largest, domain.kinds, trap))
    else:
        assert isinstance(attribute, Categorical)
        ranking = rng.choice(ctx.numerics())
        largest = rng.random() < 0.5
        for value in (trap.correct, trap.wrong):
            out.append(_trap_superlative_in_group(attribute, value, ranking, largest, domain.kinds, trap))
            ops = [
                {"action": "filter", "attribute": attribute.key, "operator": "==", "value": value, "over": "all"},
                {"action": "count", "overFromStep": 1},
            ]
            out.append(
                Candidate(
                    "trap_targeted",
                    f"How many {domain.kinds} have {value} as their {attribute.label}?",
                    ops,
                    ("count", None),
                    trap=trap,
                )
            )
    parents = [e for e in world.entities if world.relation.get(e) == entity]
    if parents:
        source = rng.choice(parents)
        ops = [
            {"action": "bridge", "relation": domain.relation.key, "entity": source},
            {"action": "lookup", "attribute": attribute.key, "entityFromStep": 1},
        ]
        out.append(
            Candidate(
                "trap_targeted",
                f"What is the {attribute.label} of {domain.relation.question_phrase.replace('{E}', source)}?",
                ops,
                trap=trap,
            )
        )
    rng.shuffle(out)
    return out


# --- answers ----------------------------------------------------------------------------------


def hops(ops: list[dict[str, Any]]) -> int:
    return sum(op["action"] in HOP_ACTIONS for op in ops)


def difficulty(ops: list[dict[str, Any]], trap: bool) -> str:
    score = hops(ops) + int(trap) + int(any(op["action"] == "compute" for op in ops))
    return "easy" if score <= 1 else "medium" if score <= 3 else "hard"


def gold_and_aliases(candidate: Candidate, result: Any, ctx: Context) -> tuple[str, list[str]]:
    """The gold answer as text and the other spellings a grader should accept."""
    domain = ctx.domain
    kind, key = candidate.answer_kind
    last = candidate.ops[-1]
    if kind in ("count", "ratio"):
        return result, numeric_aliases(result)
    if kind == "percent":
        return result, numeric_aliases(result, ("%", "percent"))
    if last["action"] == "compute":
        attribute = domain.attribute(key) if key else None
        units = attribute.units_accepted if isinstance(attribute, Numeric) else ()
        return result, numeric_aliases(result, units)
    if last["action"] == "lookup" and last["attribute"] != domain.relation.key:
        attribute = domain.attribute(last["attribute"])
        if isinstance(attribute, Numeric):
            return result, numeric_aliases(result, attribute.units_accepted)
        assert isinstance(attribute, Categorical)
        aliases = [*attribute.aliases.get(result, ()), result.lower()]
        if result.lower().startswith("the "):
            aliases.append(result[4:])
        return result, _unique(aliases, result)
    # An entity name.
    aliases = [result.lower(), result.replace("-", " "), f"the {domain.kind} {result}", f"{domain.kind} {result}"]
    return result, _unique(aliases, result)


def _unique(items: list[str], exclude: str) -> list[str]:
    out: list[str] = []
    for item in items:
        if item != exclude and item not in out:
            out.append(item)
    return out


def decide(candidate: Candidate, ctx: Context) -> list[Any] | None:
    """Run the program on the truth; None when the question is ill-posed or its trap status is
    not what its category says (a trap question its trap does not change, or another question
    some trap changes)."""
    try:
        truth = run(candidate.ops, View(ctx.world))
    except (Tie, ZeroDivisionError, KeyError):  # KeyError: a bridge from an entity with no relation
        return None
    if not _well_posed(candidate, truth):
        return None
    for trap in ctx.traps:
        try:
            swapped = run(candidate.ops, View(ctx.world, (trap.entity, trap.attribute, trap.wrong)))[-1]
        except (Tie, ZeroDivisionError, KeyError):
            swapped = None
        changes = swapped != truth[-1]
        if candidate.trap is trap and not changes:
            return None
        if candidate.trap is not trap and changes:
            return None
    return truth


def _well_posed(candidate: Candidate, results: list[Any]) -> bool:
    for op, result in zip(candidate.ops, results, strict=True):
        if op["action"] == "filter" and len(result) < 1:
            return False
        if op["action"] in ("argmax", "argmin") and "overFromStep" in op and len(results[op["overFromStep"] - 1]) < 2:
            return False
    return True
