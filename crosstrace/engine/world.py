"""The hidden truth of one challenge: entities, their attribute values and their relations.

Values are sampled as written text at the attribute's stated precision and are distinct per
attribute, so "which has the highest X" never has a tie in the truth. The document is rendered
from a `World`; questions are solved on a `View` of it (the truth, or the truth with one trap's
wrong value swapped in, to check that the trap changes the answer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from crosstrace.engine.numbers import exact, fixed
from crosstrace.engine.spec import Categorical, Domain, Numeric, slug


@dataclass
class World:
    domain: Domain
    entities: list[str]
    values: dict[str, dict[str, str]]  # attribute key -> entity -> value as text (no thousands commas)
    relation: dict[str, str]  # entity -> the entity it relates to (a forest: no cycles)

    def fact_id(self, entity: str, attribute: str) -> str:
        return f"f-{slug(entity)}-{attribute}"

    def chain(self, entity: str) -> list[str]:
        """Entities reached by following the relation from `entity`, in order."""
        out, current = [], entity
        while current in self.relation:
            current = self.relation[current]
            out.append(current)
        return out


@dataclass(frozen=True)
class View:
    """The values a reader would use: the truth, optionally with one value swapped (a trap)."""

    world: World
    swap: tuple[str, str, str] | None = None  # (entity, attribute, value) that replaces the truth

    def value(self, entity: str, attribute: str) -> str:
        if self.swap and self.swap[0] == entity and self.swap[1] == attribute:
            return self.swap[2]
        if attribute == self.world.domain.relation.key:
            return self.world.relation[entity]
        return self.world.values[attribute][entity]

    def number(self, entity: str, attribute: str) -> Fraction:
        return exact(self.value(entity, attribute))


def sample_world(domain: Domain, rng: random.Random, n_entities: int) -> World:
    entities = domain.entity_names(rng, n_entities)
    values: dict[str, dict[str, str]] = {}
    for attribute in domain.numerics:
        values[attribute.key] = dict(zip(entities, _distinct_numbers(attribute, rng, n_entities), strict=True))
    for attribute in domain.categoricals:
        values[attribute.key] = dict(zip(entities, _grouped_categories(attribute, rng, n_entities), strict=True))
    return World(domain, entities, values, _relation_forest(entities, rng))


def _distinct_numbers(attribute: Numeric, rng: random.Random, count: int) -> list[str]:
    """`count` different values in the attribute's range, written at its precision."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        text = fixed(Fraction(repr(rng.uniform(attribute.low, attribute.high))), attribute.decimals)
        # Zero is excluded so that ratios and percentage changes are always defined.
        if text not in seen and exact(text) != 0:
            seen.add(text)
            out.append(text)
    return out


def _grouped_categories(attribute: Categorical, rng: random.Random, count: int) -> list[str]:
    """Values drawn from a few vocabulary entries, so filters on them select groups of 2+."""
    pool = rng.sample(attribute.values, min(len(attribute.values), rng.choice((2, 3, 3, 4))))
    out = [pool[i % len(pool)] for i in range(count)]
    rng.shuffle(out)
    return out


def _relation_forest(entities: list[str], rng: random.Random) -> dict[str, str]:
    """Each entity after the first relates to an earlier one with probability 3/4: chains of
    one to three links appear, and no entity is its own ancestor."""
    order = entities[:]
    rng.shuffle(order)
    relation = {}
    for index in range(1, len(order)):
        if rng.random() < 0.75:
            relation[order[index]] = order[rng.randrange(index)]
    return relation
