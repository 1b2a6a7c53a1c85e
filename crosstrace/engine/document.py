"""Render a `World` as a paper-like document: sections, numbered paragraphs, tables, traps.

Layout (paragraph 0 is the title; every other paragraph starts with its number, `[P7]`):

    Abstract        summary; may restate a value
    Introduction    background prose
    Methods         the list of entities, how each quantity was measured, one paragraph per
                    entity with its categorical facts and its relation
    Results         one paragraph per entity with numeric facts in several phrasings, a table,
                    a paragraph on repeated measurements
    Discussion      a follow-up quantity per entity, discussion prose
    Supplementary   a second table and notes

Each attribute gets a *home* per challenge (prose in methods, results or discussion, or a table
only), so facts spread across sections and some facts exist only in a table rendered as text.

Traps: a trapped fact is stated three times, twice with one value and once with the other, in
three paragraphs drawn at random; which value comes first and which is repeated are drawn
independently of which one is correct, so neither position nor frequency is a shortcut. Only
the wording (provisional vs authoritative frames in `lexicon.py`) says which value holds. The
same cue frames are used on facts without any conflict ("hedges").
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from crosstrace.engine import lexicon
from crosstrace.engine.numbers import exact, fixed
from crosstrace.engine.spec import Categorical, Domain, Numeric
from crosstrace.engine.world import World
from crosstrace.number_words import number_words

NEUTRAL, PROVISIONAL, AUTHORITATIVE = "neutral", "provisional", "authoritative"
SECTION_ORDER = ("abstract", "introduction", "methods", "results", "discussion", "supplement")
# Places a trap or a restatement can go; "main" is the fact's own paragraph.
SLOTS = ("abstract", "main", "followup", "discussion", "supplement")


@dataclass
class Mention:
    entity: str
    attribute: str
    value: str  # the value as stored in the world (no thousands commas)
    status: str


@dataclass
class Sentence:
    text: str
    mentions: list[Mention] = field(default_factory=list)


# Opens every paragraph after the title: "[P7]". Questions cite paragraphs by it.
PARAGRAPH_MARK = "[P{index}]"


def caption_templates(domain: Domain) -> tuple[str, ...]:
    """The table captions with {kind} and {kinds} filled in; {id} (the table's number) and {labels} or
    {Labels} (the labels of the tabulated attributes, joined) stay slots."""
    return tuple(c.replace("{kinds}", domain.kinds).replace("{kind}", domain.kind) for c in lexicon.TABLE_CAPTIONS)


def format_line_templates(domain: Domain) -> tuple[str, ...]:
    """The lines a document writes whole from a template: its title and its table captions (in the
    document a caption opens its paragraph, after the paragraph's mark; quoted elsewhere it stands
    alone). Documents of one domain repeat them word for word (their slots take few values), so
    decontamination reads them as format, not content (crosstrace/decontaminate.py)."""
    captions = caption_templates(domain)
    return domain.title_templates + captions + tuple(f"{PARAGRAPH_MARK} {caption}" for caption in captions)


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    row_mentions: list[list[Mention]]

    def lines(self) -> list[str]:
        return [
            self.caption,
            "| " + " | ".join(self.header) + " |",
            "| " + " | ".join("---" for _ in self.header) + " |",
            *("| " + " | ".join(row) + " |" for row in self.rows),
        ]


@dataclass
class Block:
    section: str  # one of SECTION_ORDER
    sentences: list[Sentence] = field(default_factory=list)
    table: Table | None = None
    takes_filler: bool = False  # generic prose may be added here to pad the document
    index: int = -1  # paragraph number, set when the document is assembled

    def mentions(self) -> list[tuple[Mention, str]]:
        """(mention, the sentence or table row that carries it)."""
        if self.table is not None:
            lines = self.table.lines()[3:]
            return [(m, line) for line, row in zip(lines, self.table.row_mentions, strict=True) for m in row]
        return [(m, s.text) for s in self.sentences for m in s.mentions]

    def body(self) -> str:
        if self.table is not None:
            return "\n".join(self.table.lines())
        return " ".join(s.text for s in self.sentences)

    def length(self) -> int:
        return len(self.body())


@dataclass
class PlacedTrap:
    entity: str
    attribute: str
    correct: str
    wrong: str
    statements: list[tuple[Block, Sentence, bool]]  # (where, sentence, states the correct value)


@dataclass
class Document:
    title: str
    text: str
    blocks: list[Block]  # blocks[i].index == i + 1
    section_names: dict[str, str]  # section key -> heading as written
    homes: dict[str, str]  # attribute key -> methods | results | discussion | table_results | table_supplement
    traps: list[PlacedTrap]


@dataclass(frozen=True)
class DocumentOptions:
    target_chars: int = 16000  # the document is padded with prose up to about this length
    n_traps: int = 2
    hedge_rate: float = 0.14  # share of conflict-free prose facts written with a cue frame
    restate_rate: float = 0.05  # share of conflict-free facts stated a second time


class _Writer:
    """Builds one document; holds the rng and the blocks while they are assembled."""

    def __init__(self, world: World, rng: random.Random, options: DocumentOptions):
        self.world = world
        self.domain: Domain = world.domain
        self.rng = rng
        self.options = options
        self.blocks: dict[str, list[Block]] = {key: [] for key in SECTION_ORDER}
        self.main_block: dict[tuple[str, str], Block] = {}  # (entity, attribute) -> its own paragraph
        self.slot_blocks: dict[str, Block] = {}

    # --- phrasing ---------------------------------------------------------------------------

    def written(self, attribute: Numeric, value: str) -> str:
        return attribute.quantity(fixed(exact(value), attribute.decimals, grouping=attribute.grouping))

    def phrase(self, attribute: Numeric, value: str) -> str:
        template = self.rng.choice(lexicon.NUMERIC_PHRASES + attribute.phrasings)
        text = template.replace("{label}", attribute.label).replace("{V}", self.written(attribute, value))
        return re.sub(r"\{a\} (\w)", lambda m: lexicon.article(m.group(1)) + " " + m.group(1), text)

    def numeric_sentence(
        self, entity: str, facts: list[tuple[Numeric, str]], status: str, frames: tuple[str, ...] | None = None
    ) -> Sentence:
        if frames is None:
            frames = (lexicon.NEUTRAL_ONE, lexicon.NEUTRAL_TWO, lexicon.NEUTRAL_THREE)[len(facts) - 1]
        text = self.rng.choice(frames).replace("{E}", entity).replace("{kind}", self.domain.kind)
        for number, (attribute, value) in enumerate(facts, start=1):
            text = text.replace(f"{{P{number}}}", self.phrase(attribute, value))
        return Sentence(text, [Mention(entity, a.key, v, status) for a, v in facts])

    def continuation(self, entity: str, attribute: Numeric, value: str) -> Sentence:
        text = (
            self.rng.choice(lexicon.CONTINUATION)
            .replace("{kind}", self.domain.kind)
            .replace("{P1}", self.phrase(attribute, value))
        )
        return Sentence(text, [Mention(entity, attribute.key, value, NEUTRAL)])

    def categorical_sentence(
        self, entity: str, attribute: Categorical, value: str, status: str, frames: tuple[str, ...] | None = None
    ) -> Sentence:
        template = self.rng.choice(frames or attribute.phrasings)
        text = template.replace("{L}", attribute.label).replace("{E}", entity).replace("{V}", value)
        return Sentence(text[0].upper() + text[1:], [Mention(entity, attribute.key, value, status)])

    def cue_sentence(self, entity: str, key: str, value: str, status: str, position: str = "") -> Sentence:
        """A statement with an authority cue; `position` "before"/"after" allows the frames
        that only make sense before or after a conflicting statement."""
        attribute = self.domain.attribute(key)
        if isinstance(attribute, Numeric):
            frames = lexicon.PROVISIONAL_NUMERIC if status == PROVISIONAL else lexicon.AUTHORITATIVE_NUMERIC
            if status == PROVISIONAL and position == "before":
                frames = frames + lexicon.PROVISIONAL_NUMERIC_BEFORE
            if status == AUTHORITATIVE and position == "after":
                frames = frames + lexicon.AUTHORITATIVE_NUMERIC_AFTER * 2
            return self.numeric_sentence(entity, [(attribute, value)], status, frames)
        assert isinstance(attribute, Categorical)
        frames = lexicon.PROVISIONAL_CATEGORICAL if status == PROVISIONAL else lexicon.AUTHORITATIVE_CATEGORICAL
        if status == PROVISIONAL and position == "before":
            frames = frames + lexicon.PROVISIONAL_CATEGORICAL_BEFORE
        if status == AUTHORITATIVE and position == "after":
            frames = frames + lexicon.AUTHORITATIVE_CATEGORICAL_AFTER * 2
        return self.categorical_sentence(entity, attribute, value, status, frames)

    def neutral_restatement(self, entity: str, key: str, value: str) -> Sentence:
        attribute = self.domain.attribute(key)
        if isinstance(attribute, Numeric):
            return self.numeric_sentence(entity, [(attribute, value)], NEUTRAL)
        assert isinstance(attribute, Categorical)
        return self.categorical_sentence(entity, attribute, value, NEUTRAL)

    def fill(self, template: str, labels: list[str]) -> str:
        la, lb = labels[0], labels[1]
        text = (
            template.replace("{kinds}", self.domain.kinds).replace("{kind}", self.domain.kind).replace("{field}", self.domain.field_name)
            .replace("{La}", la[0].upper() + la[1:]).replace("{la}", la).replace("{lb}", lb)
        )  # fmt: skip
        return text[0].upper() + text[1:]

    # --- the plan ---------------------------------------------------------------------------

    def assign_homes(self) -> dict[str, str]:
        numerics = list(self.domain.numerics)
        self.rng.shuffle(numerics)
        homes = {}
        # Two numeric attributes only in the results table, one only in the supplementary table,
        # one stated in the discussion, the rest in results prose.
        for index, attribute in enumerate(numerics):
            homes[attribute.key] = (
                "table_results"
                if index < 2
                else "table_supplement"
                if index == 2
                else "discussion"
                if index == 3
                else "results"
            )
        categoricals = list(self.domain.categoricals)
        self.rng.shuffle(categoricals)
        for index, attribute in enumerate(categoricals):
            homes[attribute.key] = (
                "table_supplement" if index == 0 and len(categoricals) > 2 and self.rng.random() < 0.5 else "methods"
            )
        homes[self.domain.relation.key] = "methods"
        return homes

    def choose_traps(self, homes: dict[str, str]) -> list[tuple[str, str, str]]:
        """(entity, attribute, wrong value) for each trap: prose facts, one trap per attribute
        and per entity."""
        eligible = [
            key
            for key, home in homes.items()
            if home in ("methods", "results", "discussion") and key != self.domain.relation.key
        ]
        self.rng.shuffle(eligible)
        traps: list[tuple[str, str, str]] = []
        for key in eligible[: self.options.n_traps]:
            attribute = self.domain.attribute(key)
            taken = {entity for entity, _, _ in traps}
            if isinstance(attribute, Numeric):
                entity, wrong = self.wrong_number(attribute, taken)
            else:
                assert isinstance(attribute, Categorical)
                entity = self.rng.choice([e for e in self.world.entities if e not in taken])
                wrong = self.wrong_category(attribute, self.world.values[key][entity])
            traps.append((entity, key, wrong))
        return traps

    def wrong_number(self, attribute: Numeric, taken: set[str]) -> tuple[str, str]:
        """A conflicting value. Half the time it is chosen to change which entity ranks first
        or last, so questions about extremes can depend on the trap."""
        values = self.world.values[attribute.key]
        ranked = sorted(self.world.entities, key=lambda e: exact(values[e]))
        width = exact(fixed(attribute.high - attribute.low, attribute.decimals))
        for _ in range(100):
            if self.rng.random() < 0.5:
                # Flip an extreme: the top entity falls below the runner-up, or another rises above the top.
                if self.rng.random() < 0.5:
                    entity = self.rng.choice((ranked[0], ranked[-1]))
                    runner_up = ranked[1] if entity == ranked[0] else ranked[-2]
                    direction = 1 if entity == ranked[0] else -1
                    wrong = exact(values[runner_up]) + direction * width * exact(fixed(self.rng.uniform(0.03, 0.2), 3))
                else:
                    entity = self.rng.choice(ranked[1:-1])
                    top = ranked[-1] if self.rng.random() < 0.5 else ranked[0]
                    direction = 1 if top == ranked[-1] else -1
                    wrong = exact(values[top]) + direction * width * exact(fixed(self.rng.uniform(0.03, 0.2), 3))
            else:
                entity = self.rng.choice(self.world.entities)
                shift = width * exact(fixed(self.rng.uniform(0.12, 0.45), 3))
                wrong = exact(values[entity]) + (shift if self.rng.random() < 0.5 else -shift)
            text = fixed(wrong, attribute.decimals)
            plausible = attribute.low - float(width) * 0.15 <= float(wrong) <= attribute.high + float(width) * 0.15
            positive_ok = attribute.low < 0 or exact(text) > 0
            if entity not in taken and plausible and positive_ok and text not in values.values():
                return entity, text
        raise RuntimeError(f"no conflicting value found for {attribute.key}")  # practically unreachable

    def wrong_category(self, attribute: Categorical, correct: str) -> str:
        used = sorted(set(self.world.values[attribute.key].values()) - {correct})
        others = [v for v in attribute.values if v != correct]
        # Prefer a value other entities have, so a filter on it changes membership.
        return self.rng.choice(used) if used and self.rng.random() < 0.7 else self.rng.choice(others)

    # --- sections ---------------------------------------------------------------------------

    def add(
        self,
        section: str,
        sentences: list[Sentence] | None = None,
        table: Table | None = None,
        takes_filler: bool = False,
    ) -> Block:
        block = Block(section, sentences or [], table, takes_filler)
        self.blocks[section].append(block)
        return block

    def labels(self, count: int) -> list[str]:
        pool = [a.label for a in self.domain.numerics]
        return self.rng.sample(pool, count)

    def write_abstract(self) -> None:
        labels = self.labels(3)
        count = len(self.world.entities)
        fields = {
            "{n}": number_words(count) or str(count),
            "{kinds}": self.domain.kinds,
            "{field}": self.domain.field_name,
            "{labels}": f"{labels[0]}, {labels[1]} and {labels[2]}",
            "{kind}": self.domain.kind,
        }
        opener, closer = self.rng.choice(lexicon.ABSTRACT_OPENERS), self.rng.choice(lexicon.ABSTRACT_CLOSERS)
        for key, value in fields.items():
            opener, closer = opener.replace(key, value), closer.replace(key, value)
        self.slot_blocks["abstract"] = self.add(
            "abstract", [Sentence(opener[0].upper() + opener[1:]), Sentence(closer[0].upper() + closer[1:])]
        )

    def write_introduction(self) -> None:
        background = list(self.domain.background)
        self.rng.shuffle(background)
        half = len(background) // 2
        self.add("introduction", [Sentence(s) for s in background[:half]], takes_filler=True)
        self.add("introduction", [Sentence(s) for s in background[half:]], takes_filler=True)

    def write_methods(
        self, homes: dict[str, str], skip: set[tuple[str, str]], hedged: dict[tuple[str, str], str]
    ) -> None:
        names = self.world.entities[:]
        listing = ", ".join(names[:-1]) + " and " + names[-1]
        frame = self.rng.choice(lexicon.ENTITY_LIST)
        count = number_words(len(names)) or str(len(names))
        overview = [
            Sentence(frame.replace("{n}", count).replace("{kinds}", self.domain.kinds).replace("{LIST}", listing))
        ]
        protocol = list(self.domain.protocol)
        self.rng.shuffle(protocol)
        overview += [Sentence(s) for s in protocol[:2]]
        self.add("methods", overview, takes_filler=True)
        how = [Sentence(a.method) for a in self.domain.numerics if a.method]
        self.rng.shuffle(how)
        if how:
            self.add("methods", how)
        order = self.world.entities[:]
        self.rng.shuffle(order)
        for entity in order:
            block = self.add("methods")
            sentences = []
            for attribute in self.domain.categoricals:
                if homes[attribute.key] != "methods":
                    continue
                placed = self.place_value(block, entity, attribute, skip, hedged)
                if placed is not None:
                    value, cue = placed
                    sentences.append(cue or self.categorical_sentence(entity, attribute, value, NEUTRAL))
            if entity in self.world.relation:
                relation = self.domain.relation
                target = self.world.relation[entity]
                text = self.rng.choice(relation.phrasings).replace("{E}", entity).replace("{T}", target)
                sentences.append(Sentence(text, [Mention(entity, relation.key, target, NEUTRAL)]))
                self.main_block[(entity, relation.key)] = block
            if self.rng.random() < 0.5:
                sentences.append(Sentence(self.commentary(entity)))
            self.rng.shuffle(sentences)
            block.sentences = sentences or [Sentence(self.commentary(entity))]
        self.add("methods", [Sentence(s) for s in protocol[2:]], takes_filler=True)

    def place_value(
        self,
        block: Block,
        entity: str,
        attribute: Numeric | Categorical,
        skip: set[tuple[str, str]],
        hedged: dict[tuple[str, str], str],
    ) -> tuple[str, Sentence | None] | None:
        """Make `block` the home of the entity's value; None when another sentence states it (`skip`), else
        the value and, when the value carries an authority cue (`hedged`), the cued sentence stating it."""
        self.main_block[(entity, attribute.key)] = block
        if (entity, attribute.key) in skip:
            return None
        value = self.world.values[attribute.key][entity]
        status = hedged.get((entity, attribute.key))
        return value, self.cue_sentence(entity, attribute.key, value, status) if status else None

    def commentary(self, entity: str) -> str:
        template = self.rng.choice(self.domain.commentary + lexicon.GENERIC_COMMENTARY)
        return template.replace("{E}", entity).replace("{kinds}", self.domain.kinds)

    def entity_paragraph(
        self,
        block: Block,
        entity: str,
        attributes: list[Numeric],
        skip: set[tuple[str, str]],
        hedged: dict[tuple[str, str], str],
    ) -> None:
        neutral, cued = [], []
        for attribute in attributes:
            placed = self.place_value(block, entity, attribute, skip, hedged)
            if placed is None:
                continue
            value, cue = placed
            if cue is not None:
                cued.append(cue)
            else:
                neutral.append((attribute, value))
        self.rng.shuffle(neutral)
        sentences: list[Sentence] = []
        while neutral:
            size = min(len(neutral), self.rng.choice((1, 2, 2, 3)))
            chunk, neutral = neutral[:size], neutral[size:]
            if sentences and size == 1 and self.rng.random() < 0.6:
                sentences.append(self.continuation(entity, *chunk[0]))
            else:
                sentences.append(self.numeric_sentence(entity, chunk, NEUTRAL))
        for sentence in cued:
            sentences.insert(self.rng.randint(0, len(sentences)), sentence)
        remarks = self.rng.sample(self.domain.commentary + lexicon.GENERIC_COMMENTARY, self.rng.choice((0, 1, 1, 2)))
        sentences += [Sentence(r.replace("{E}", entity).replace("{kinds}", self.domain.kinds)) for r in remarks]
        block.sentences = sentences or [Sentence(self.commentary(entity))]

    def table(self, number: str, attributes: list[Numeric | Categorical]) -> Table:
        labels = [a.label for a in attributes]
        joined = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        caption = self.rng.choice(caption_templates(self.domain))
        caption = (
            caption.replace("{id}", number)
            .replace("{Labels}", joined[0].upper() + joined[1:])
            .replace("{labels}", joined)
        )
        header = [self.domain.kind[0].upper() + self.domain.kind[1:]] + [
            a.header if isinstance(a, Numeric) else a.label[0].upper() + a.label[1:] for a in attributes
        ]
        order = self.world.entities[:]
        self.rng.shuffle(order)
        rows, mentions = [], []
        for entity in order:
            cells = [entity]
            for attribute in attributes:
                value = self.world.values[attribute.key][entity]
                cells.append(
                    fixed(exact(value), attribute.decimals, attribute.grouping)
                    if isinstance(attribute, Numeric)
                    else value
                )
            rows.append(cells)
            mentions.append([Mention(entity, a.key, self.world.values[a.key][entity], NEUTRAL) for a in attributes])
        return Table(caption, header, rows, mentions)

    def write_results(
        self, homes: dict[str, str], skip: set[tuple[str, str]], hedged: dict[tuple[str, str], str]
    ) -> None:
        prose = [a for a in self.domain.numerics if homes[a.key] == "results"]
        order = self.world.entities[:]
        self.rng.shuffle(order)
        for entity in order:
            self.entity_paragraph(self.add("results"), entity, prose, skip, hedged)
        in_table = [a for a in self.domain.numerics if homes[a.key] == "table_results"]
        self.add("results", table=self.table("1", in_table))
        opener = "Some quantities were measured more than once during the campaign; where readings differ, each is reported with its status."
        self.slot_blocks["followup"] = self.add("results", [Sentence(opener)])

    def write_discussion(
        self, homes: dict[str, str], skip: set[tuple[str, str]], hedged: dict[tuple[str, str], str]
    ) -> None:
        later = [a for a in self.domain.numerics if homes[a.key] == "discussion"]
        block = self.add("discussion")
        order = self.world.entities[:]
        self.rng.shuffle(order)
        for attribute in later:
            intro = Sentence(f"A further campaign added the {attribute.label} of every {self.domain.kind}.")
            sentences = [intro]
            for entity in order:
                placed = self.place_value(block, entity, attribute, skip, hedged)
                if placed is not None:
                    value, cue = placed
                    sentences.append(cue or self.numeric_sentence(entity, [(attribute, value)], NEUTRAL))
            block.sentences = sentences
        discussion = list(self.domain.discussion)
        self.rng.shuffle(discussion)
        self.slot_blocks["discussion"] = self.add(
            "discussion", [Sentence(s) for s in discussion[:3]], takes_filler=True
        )
        self.add("discussion", [Sentence(s) for s in discussion[3:]], takes_filler=True)
        self.add(
            "discussion",
            [Sentence(f"Limitations of this comparison of {self.domain.kinds} should be kept in mind.")],
            takes_filler=True,
        )

    def write_supplement(self, homes: dict[str, str]) -> None:
        intro = self.rng.choice(lexicon.SUPPLEMENT_INTRO).replace("{kind}", self.domain.kind)
        self.add("supplement", [Sentence(intro[0].upper() + intro[1:])])
        in_table = [
            a for a in (*self.domain.numerics, *self.domain.categoricals) if homes[a.key] == "table_supplement"
        ]
        self.add("supplement", table=self.table("S1", in_table))
        self.slot_blocks["supplement"] = self.add(
            "supplement", [Sentence(f"Notes on individual {self.domain.kinds} follow.")]
        )

    # --- traps, restatements and padding ----------------------------------------------------

    def place_trap(self, entity: str, key: str, wrong: str) -> PlacedTrap:
        correct = self.world.values[key][entity]
        slots = self.rng.sample(SLOTS, 3)
        blocks = [self.main_block[(entity, key)] if slot == "main" else self.slot_blocks[slot] for slot in slots]
        blocks.sort(key=self.position)
        # Two statements of one value and one of the other; which value is repeated, and
        # whether the single one comes first or last, are drawn independently of correctness.
        repeated_is_correct = self.rng.random() < 0.5
        single_first = self.rng.random() < 0.5
        is_correct = (
            [not repeated_is_correct, repeated_is_correct, repeated_is_correct]
            if single_first
            else [repeated_is_correct, repeated_is_correct, not repeated_is_correct]
        )
        statements = []
        for index, (block, correct_here) in enumerate(zip(blocks, is_correct, strict=True)):
            if correct_here:
                after_provisional = not all(is_correct[:index]) if index else False
                sentence = self.cue_sentence(entity, key, correct, AUTHORITATIVE, "after" if after_provisional else "")
            else:
                before_authoritative = any(is_correct[index + 1 :])
                sentence = self.cue_sentence(entity, key, wrong, PROVISIONAL, "before" if before_authoritative else "")
            self.append(block, sentence)
            statements.append((block, sentence, correct_here))
        return PlacedTrap(entity, key, correct, wrong, statements)

    def position(self, block: Block) -> tuple[int, int]:
        section = SECTION_ORDER.index(block.section)
        return section, self.blocks[block.section].index(block)

    def append(self, block: Block, sentence: Sentence) -> None:
        """Statements about any entity go after a paragraph's own sentences (which may refer to
        the paragraph's entity as "it"), or before the closing sentence of the abstract."""
        if block.section == "abstract":
            block.sentences.insert(len(block.sentences) - 1, sentence)
        else:
            block.sentences.append(sentence)

    def restate(self, entity: str, key: str, status: str | None) -> None:
        block = self.slot_blocks[self.rng.choice(("abstract", "followup", "discussion", "supplement"))]
        value = self.world.values[key][entity]
        self.append(
            block,
            self.cue_sentence(entity, key, value, status) if status else self.neutral_restatement(entity, key, value),
        )

    def pad(self, ordered: list[Block]) -> None:
        """Add generic prose, one sentence at a time across the paragraphs that take filler,
        until the document reaches the target length (or the filler runs out)."""
        labels = [a.label for a in self.domain.numerics]
        filler = [self.fill(t, self.rng.sample(labels, 2)) for t in lexicon.GENERIC_FILLER]
        self.rng.shuffle(filler)
        targets = [b for b in ordered if b.takes_filler]
        total = sum(b.length() + 8 for b in ordered)
        cursor = 0
        while total < self.options.target_chars and filler:
            block = targets[cursor % len(targets)]
            cursor += 1
            sentence = Sentence(filler.pop())
            # Filler paragraphs hold no "it" sentences, so any position keeps every subject clear.
            block.sentences.insert(self.rng.randint(0, len(block.sentences)), sentence)
            total += len(sentence.text) + 1


def render_document(world: World, rng: random.Random, options: DocumentOptions) -> Document:
    writer = _Writer(world, rng, options)
    homes = writer.assign_homes()
    trap_specs = writer.choose_traps(homes)
    trapped = {(e, k) for e, k, _ in trap_specs}

    # Conflict-free prose facts that get a cue frame anyway, and some that are stated twice.
    hedged: dict[tuple[str, str], str] = {}
    restated: list[tuple[str, str, str | None]] = []
    for key, home in homes.items():
        if home not in ("methods", "results", "discussion") or key == world.domain.relation.key:
            continue
        for entity in world.entities:
            if (entity, key) in trapped:
                continue
            if rng.random() < options.hedge_rate:
                hedged[(entity, key)] = PROVISIONAL if rng.random() < 0.5 else AUTHORITATIVE
            if rng.random() < options.restate_rate:
                restated.append((entity, key, rng.choice((None, PROVISIONAL, AUTHORITATIVE))))

    writer.write_abstract()
    writer.write_introduction()
    writer.write_methods(homes, trapped, hedged)
    writer.write_results(homes, trapped, hedged)
    writer.write_discussion(homes, trapped, hedged)
    writer.write_supplement(homes)
    placed = [writer.place_trap(entity, key, wrong) for entity, key, wrong in trap_specs]
    for entity, key, status in restated:
        writer.restate(entity, key, status)

    ordered = [block for section in SECTION_ORDER for block in writer.blocks[section]]
    writer.pad(ordered)

    count = number_words(len(world.entities)) or str(len(world.entities))
    title = rng.choice(world.domain.title_templates).replace("{n}", count)
    title = title[0].upper() + title[1:]
    names = world.domain.sections
    section_names = {key: getattr(names, key) for key in SECTION_ORDER}
    numbered = {"introduction": "1. ", "methods": "2. ", "results": "3. ", "discussion": "4. "}
    paragraphs = [title]
    seen_sections: set[str] = set()
    for index, block in enumerate(ordered, start=1):
        block.index = index
        heading = ""
        if block.section not in seen_sections:
            seen_sections.add(block.section)
            heading = f"## {numbered.get(block.section, '')}{section_names[block.section]}\n"
        paragraphs.append(f"{heading}{PARAGRAPH_MARK.format(index=index)} {block.body()}")
    return Document(title, "\n\n".join(paragraphs), ordered, section_names, homes, placed)
