"""What a domain library declares: its kind of entity, attributes, relation and prose.

A domain is data, not code: `crosstrace/engine/domains/<name>.py` builds one `Domain`. The
generic machinery (world, document, questions, verification, traces) reads only these fields,
so a new domain is a new file of wording and ranges.

Phrasing placeholders:
- numeric `phrasings` are noun phrases holding `{V}` (the value with its unit), e.g.
  "a light yield of {V}"; sentence frames in `lexicon.py` put them after a subject;
- categorical `phrasings` are whole sentences with `{E}` (the entity) and `{V}` (the value);
  `{E}` comes first, because a sentence's subject is its first named entity;
- relation `phrasings` are sentences with `{E}` then `{T}` (the related entity).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Numeric:
    key: str  # fact attribute id, e.g. "light_yield_ph_per_mev"
    label: str  # as written in prose and table headers, e.g. "light yield"
    unit: str  # display unit ("" for a pure number); "%" is written without a space
    low: float
    high: float
    decimals: int  # the stated precision: every value is written with exactly this many decimals
    phrasings: tuple[str, ...] = ()  # extra noun phrases with {V}, specific to this attribute
    unit_words: tuple[str, ...] = ()  # other spellings of the unit accepted in answers
    # Superlatives used in questions; the order is (largest, smallest).
    most: str = "highest"
    least: str = "lowest"
    grouping: bool = False  # write thousands commas ("41,200")
    summable: bool = False  # a count or amount whose total across entities means something
    method: str = ""  # a methods sentence on how it was measured (no numbers, no cue words)

    def quantity(self, value_text: str) -> str:
        """The value as written in prose: number plus unit."""
        if not self.unit:
            return value_text
        return f"{value_text}{self.unit}" if self.unit.startswith("%") else f"{value_text} {self.unit}"

    @property
    def header(self) -> str:
        """The table column header, e.g. "Light yield (photons/MeV)"."""
        label = self.label[0].upper() + self.label[1:]
        return f"{label} ({self.unit})" if self.unit else label

    @property
    def units_accepted(self) -> tuple[str, ...]:
        return (self.unit, *self.unit_words) if self.unit else self.unit_words


@dataclass(frozen=True)
class Categorical:
    key: str
    label: str
    values: tuple[str, ...]  # the vocabulary; each written exactly like this in the text
    phrasings: tuple[str, ...]  # sentences with {E} first, then {V}
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other accepted answers per value


@dataclass(frozen=True)
class Relation:
    key: str  # e.g. "calibrated_against"
    label: str  # e.g. "calibration reference"
    phrasings: tuple[str, ...]  # sentences with {E} first, then {T}
    # How a question names the target of entity {E}, e.g. "the detector that {E} was cross-calibrated against".
    question_phrase: str
    # A verb phrase for chains: "{E} was cross-calibrated against another detector, which ..."
    chain_verb: str


@dataclass(frozen=True)
class Sections:
    """The domain's names for the six parts of a paper-like document."""

    abstract: str = "Abstract"
    introduction: str = "Introduction"
    methods: str = "Methods"
    results: str = "Results"
    discussion: str = "Discussion"
    supplement: str = "Supplementary material"


@dataclass(frozen=True)
class Domain:
    name: str  # the id used in sources and dataset columns, e.g. "physics"
    field_name: str  # how the text names the field, e.g. "radiation detection"
    kind: str  # entity kind, singular, e.g. "detector"
    kinds: str  # plural
    name_stems: tuple[str, ...]  # building blocks of entity names
    name_format: str  # e.g. "{stem}-{number}"; {stem} upper/title-cased by name_case
    name_case: str  # "upper" | "title"
    name_number: tuple[int, int]  # range of the number in a name
    titles: tuple[str, ...]  # document titles; may use {n} and {kinds}
    numerics: tuple[Numeric, ...]
    categoricals: tuple[Categorical, ...]
    relation: Relation
    background: tuple[str, ...]  # introduction sentences about the field (no numbers, no cue words)
    protocol: tuple[str, ...]  # methods sentences about the common procedure
    commentary: tuple[str, ...]  # remarks about one entity, with {E}; no values, no cue words
    discussion: tuple[str, ...]  # discussion and limitation sentences
    sections: Sections = Sections()

    def __post_init__(self) -> None:
        keys = [a.key for a in self.numerics] + [a.key for a in self.categoricals] + [self.relation.key]
        if len(set(keys)) != len(keys):
            raise ValueError(f"domain {self.name}: attribute keys repeat")
        if len(self.numerics) + len(self.categoricals) < 8:
            raise ValueError(f"domain {self.name}: needs 8+ attributes")

    @property
    def title_templates(self) -> tuple[str, ...]:
        """The document titles with `{kinds}` filled in; `{n}` (the number of entities, in words) is left
        as the one slot. Decontamination reads them too: a title is format shared by many documents."""
        return tuple(title.replace("{kinds}", self.kinds) for title in self.titles)

    @property
    def name_pattern(self) -> str:
        """A regular expression matching any entity name this domain can produce."""
        stem = "[A-Z]+" if self.name_case == "upper" else "[A-Z][a-z]+"
        return self.name_format.replace("{stem}", stem).replace("{number}", r"\d+").replace(" ", r"\ ")

    def entity_names(self, rng: random.Random, count: int) -> list[str]:
        """`count` distinct names, no name a prefix of another (each stem used once)."""
        stems = rng.sample(self.name_stems, count)
        low, high = self.name_number
        names = []
        for stem in stems:
            cased = stem.upper() if self.name_case == "upper" else stem.title()
            names.append(self.name_format.format(stem=cased, number=rng.randint(low, high)))
        return names

    def attribute(self, key: str) -> Numeric | Categorical | Relation:
        for attribute in (*self.numerics, *self.categoricals, self.relation):
            if attribute.key == key:
                return attribute
        raise KeyError(f"domain {self.name} has no attribute {key!r}")


def slug(text: str) -> str:
    """Fact-id friendly form of an entity name: "KESTREL-3" -> "KESTREL_3"."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
