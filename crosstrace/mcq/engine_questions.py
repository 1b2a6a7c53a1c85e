"""Questions over the facts of engine challenges: value lookup, extreme entity, trap value.

Engine challenges (`crosstrace.engine.generate_challenge`, DACR-Bench schema) describe a dozen
made-up entities of one kind (detectors, cell lines, ...) by numeric and categorical facts, each
fact with the sentence (or table row) that states it (`location.contextQuote`); a trap states
one fact a second time with a wrong value, worded as provisional. Because the facts are made
up, every question quotes the excerpts it needs: the question is answerable from its own text
and from nothing else.

Ten options are drawn from inside one challenge, and every option is quoted in the question:
- `engine/value_lookup`: "what is the <attribute> of <entity>?" over the excerpts stating that
  attribute for ten entities; the options are those ten values, written as in the text.
- `engine/extreme_entity`: "which of these ten <kinds> has the highest <attribute>?"; the
  options are the ten entity names (values are distinct per attribute, so there is no tie).
- `engine/trap_value`: a trapped numeric fact. The excerpts hold the fact's authoritative
  statement, the trap's provisional statement and eight other entities' statements; the
  question asks for the confirmed value; the options include the trap's wrong value.
Quoting every option makes the two lexical baselines blind by construction (each option
appears in the question exactly as often as the answer does); reading is still needed,
because each excerpt is about one entity and the question about another.

Challenges are generated with `ENTITIES_PER_CHALLENGE` entities (ten options need ten
entities) and split train / validation / test by challenge, so a question, its excerpts and
its distractors always come from one challenge of one split.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from crosstrace.engine import DOMAINS, generate_challenge
from crosstrace.engine.domains import DOMAIN_SPECS
from crosstrace.engine.numbers import exact, fixed
from crosstrace.mcq.labels import labels_for
from crosstrace.mcq.options import Draft, rng_for
from crosstrace.mcq.record import NUM_OPTIONS

ENTITIES_PER_CHALLENGE = 12  # the engine's maximum; at least ten are needed for ten options
QUESTIONS_PER_TYPE = 2  # value lookups and extreme-entity questions per challenge (every numeric trap gets one)
SPLIT_FRACTIONS = (("train", 0.85), ("validation", 0.075), ("test", 0.075))  # as CrossTrace's release

VALUE_LOOKUP = "value_lookup"
EXTREME_ENTITY = "extreme_entity"
TRAP_VALUE = "trap_value"
_PARAGRAPH_MARK = re.compile(r"^(?:#+ [^\n]*\n)?\[P(\d+)\] ", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_MAX_LOOKBACK = 3  # sentences searched backwards for the entity a statement refers to


def assign_splits(n: int, seed: int) -> list[str]:
    """The split of each of n challenges: a seeded shuffle cut at 85% / 7.5% / 7.5%."""
    order = list(range(n))
    rng_for(seed, "engine-splits", n).shuffle(order)
    n_train = round(n * SPLIT_FRACTIONS[0][1])
    n_validation = round(n * SPLIT_FRACTIONS[1][1])
    splits = [""] * n
    for rank, index in enumerate(order):
        splits[index] = "train" if rank < n_train else "validation" if rank < n_train + n_validation else "test"
    return splits


class ChallengeFacts:
    """One challenge's numeric facts, written as in its text, with the excerpt stating each."""

    def __init__(self, challenge: dict[str, Any]):
        self.challenge = challenge
        self.id = challenge["challengeId"]
        self.domain_name = challenge["document"]["domain"]
        self.domain = DOMAIN_SPECS[self.domain_name]
        self.numerics = {attribute.key: attribute for attribute in self.domain.numerics}
        self.paragraphs = self._paragraphs(challenge["document"]["text"])
        self.facts = {(f["entity"], f["attribute"]): f for f in challenge["facts"] if f["attribute"] in self.numerics}
        self.entities = sorted({entity for entity, _ in self.facts})

    @staticmethod
    def _paragraphs(text: str) -> dict[int, str]:
        """paragraph index -> its body (after the `[Pn]` mark; paragraph 0, the title, has none)."""
        marks = list(_PARAGRAPH_MARK.finditer(text))
        return {
            int(mark.group(1)): text[mark.end() : following.start() if following else len(text)].strip()
            for mark, following in zip(marks, [*marks[1:], None], strict=True)
        }

    def written(self, key: str, value: Any) -> str:
        """A numeric value as the document writes it (precision and thousands commas), without unit."""
        attribute = self.numerics[key]
        return fixed(exact(value), attribute.decimals, grouping=attribute.grouping)

    def excerpt(self, entity: str, key: str) -> str:
        """The statement of a fact, readable on its own (see `readable_statement`)."""
        location = self.facts[(entity, key)]["location"]
        return self.readable_statement(location["contextQuote"], entity, location["paragraphIndex"])

    def readable_statement(self, quote: str, entity: str, paragraph_index: int) -> str:
        """A quote that names its entity: a table row under its table's caption and header; a
        sentence that refers back ("The same detector had ...") with the sentences before it,
        back to the one that names the entity."""
        quote = quote.strip()
        paragraph = self.paragraphs.get(paragraph_index, "")
        lines = paragraph.splitlines()
        if quote.startswith("|") and len(lines) >= 3 and lines[1].startswith("|"):
            return f"{lines[0]}\n{lines[1]}\n{quote}"
        if entity in quote or quote not in paragraph:
            return quote
        before = _SENTENCE_END.split(paragraph[: paragraph.index(quote)].strip())
        for start in range(len(before) - 1, max(len(before) - 1 - _MAX_LOOKBACK, -1), -1):
            if entity in before[start]:
                return " ".join([*before[start:], quote])
        return quote

    def label(self, key: str) -> str:
        attribute = self.numerics[key]
        return f"{attribute.label} (in {attribute.unit})" if attribute.unit else attribute.label


def _excerpt_block(excerpts: Sequence[str]) -> str:
    # Table excerpts that share a caption and header are merged, so a table reads as one table.
    merged: list[str] = []
    for excerpt in excerpts:
        head, _, row = excerpt.rpartition("\n")
        previous = next((i for i, m in enumerate(merged) if head and m.startswith(head + "\n")), None)
        if previous is not None:
            merged[previous] += "\n" + row
        else:
            merged.append(excerpt)
    return "\n\n".join(f"Excerpt {number}:\n{text}" for number, text in enumerate(merged, start=1))


def _question(facts: ChallengeFacts, excerpts: Sequence[str], ask: str) -> str:
    domain = facts.domain
    return "\n\n".join(
        [
            f"The excerpts below come from a report comparing {domain.kinds} in {domain.field_name}.",
            _excerpt_block(excerpts),
            ask,
        ]
    )


def _all_quoted(question: str, options: Sequence[str]) -> bool:
    return all(re.search(rf"(?<![\w.,]){re.escape(option)}(?![\w]|[.,]\d)", question) for option in options)


def _draft(
    facts: ChallengeFacts, kind: str, name: str, question: str, correct: str, distractors: Sequence[str]
) -> Draft:
    return Draft(
        id=f"{kind}/{facts.id}/{name}",
        source=f"engine/{kind}",
        question=question,
        correct=correct,
        distractors=tuple(distractors),
        labels=labels_for("engine", facts.domain_name),
        paper_id=facts.id,
    )


def value_lookup(facts: ChallengeFacts, key: str, seed: int) -> Draft:
    rng = rng_for(seed, VALUE_LOOKUP, facts.id, key)
    entities = rng.sample(facts.entities, NUM_OPTIONS)
    asked = entities[0]
    values = [facts.written(key, facts.facts[(e, key)]["value"]) for e in entities]
    excerpts = [facts.excerpt(e, key) for e in entities]
    rng.shuffle(excerpts)
    ask = f"According to the excerpts, what is the {facts.label(key)} of {asked}?"
    return _draft(facts, VALUE_LOOKUP, key, _question(facts, excerpts, ask), values[0], values[1:])


def extreme_entity(facts: ChallengeFacts, key: str, seed: int) -> Draft:
    rng = rng_for(seed, EXTREME_ENTITY, facts.id, key)
    entities = rng.sample(facts.entities, NUM_OPTIONS)
    attribute = facts.numerics[key]
    largest = rng.random() < 0.5
    ranked = sorted(entities, key=lambda e: exact(facts.facts[(e, key)]["value"]), reverse=largest)
    excerpts = [facts.excerpt(e, key) for e in entities]
    rng.shuffle(excerpts)
    superlative = attribute.most if largest else attribute.least
    ask = f"Of the ten {facts.domain.kinds} described in the excerpts, which has the {superlative} {attribute.label}?"
    return _draft(facts, EXTREME_ENTITY, key, _question(facts, excerpts, ask), ranked[0], ranked[1:])


def trap_value(facts: ChallengeFacts, trap: dict[str, Any], seed: int) -> Draft | str:
    """The question for a numeric trap, or the reason it cannot have one."""
    target = next(f for f in facts.challenge["facts"] if f["factId"] == trap["targetFactId"])
    entity, key = target["entity"], target["attribute"]
    if key not in facts.numerics:
        return "trap on a non-numeric fact (fewer than ten values to choose from)"
    correct, wrong = facts.written(key, trap["correctValue"]), facts.written(key, trap["wrongValue"])
    if correct == wrong:
        return "trap whose wrong value equals the correct one"
    rng = rng_for(seed, TRAP_VALUE, facts.id, trap["trapId"])
    others = [
        e
        for e in facts.entities
        if e != entity and facts.written(key, facts.facts[(e, key)]["value"]) not in (correct, wrong)
    ]
    if len(others) < NUM_OPTIONS - 2:
        return "fewer than eight other values of the trapped attribute"
    others = rng.sample(others, NUM_OPTIONS - 2)
    location = trap["trapLocation"]
    provisional = facts.readable_statement(location["injectedText"], entity, location["paragraphIndex"])
    excerpts = [facts.excerpt(entity, key), provisional, *(facts.excerpt(e, key) for e in others)]
    rng.shuffle(excerpts)
    ask = (
        f"Some excerpts may give a preliminary or superseded figure. According to the confirmed measurement, "
        f"what is the {facts.label(key)} of {entity}?"
    )
    distractors = [wrong, *(facts.written(key, facts.facts[(e, key)]["value"]) for e in others)]
    return _draft(facts, TRAP_VALUE, trap["trapId"], _question(facts, excerpts, ask), correct, distractors)


def challenge_drafts(challenge: dict[str, Any], seed: int) -> tuple[list[Draft], Counter]:
    """The questions of one challenge: every numeric trap, then value lookups and extreme-entity questions."""
    notes: Counter = Counter()
    facts = ChallengeFacts(challenge)
    if len(facts.entities) < NUM_OPTIONS:
        notes[f"skipped challenge: fewer than {NUM_OPTIONS} entities"] += 1
        return [], notes
    candidates: list[Draft] = []
    for trap in challenge["traps"]:
        made = trap_value(facts, trap, seed)
        if isinstance(made, str):
            notes[f"no trap question: {made}"] += 1
        else:
            candidates.append(made)
    keys = sorted(facts.numerics)
    rng = rng_for(seed, "engine-attributes", facts.id)
    for builder in (value_lookup, extreme_entity):
        for key in rng.sample(keys, min(QUESTIONS_PER_TYPE, len(keys))):
            candidates.append(builder(facts, key, seed))
    drafts = []
    for draft in candidates:
        if _all_quoted(draft.question, (draft.correct, *draft.distractors)):
            drafts.append(draft)
        else:  # a statement that does not write the value as expected: the question would leak
            notes[f"dropped {draft.source}: an option is not quoted in the excerpts"] += 1
    return drafts, notes


def engine_drafts(n: int, first_seed: int, seed: int) -> tuple[dict[str, list[Draft]], Counter, dict[str, Any]]:
    """Questions from engine challenges `first_seed .. first_seed + n - 1`, by split.

    Domains are taken in turn from `crosstrace.engine.DOMAINS`, so each gets an equal share.
    Returns drafts by split, generation notes, and a description of the challenges for the manifest.
    """
    splits = assign_splits(n, seed)
    drafts: dict[str, list[Draft]] = {split: [] for split, _ in SPLIT_FRACTIONS}
    notes: Counter = Counter()
    per_split: Counter = Counter()
    for index in tqdm(range(n), desc="engine challenges", unit="challenge"):
        challenge = generate_challenge(
            first_seed + index, DOMAINS[index % len(DOMAINS)], n_entities=ENTITIES_PER_CHALLENGE
        )
        made, challenge_notes = challenge_drafts(challenge, seed)
        drafts[splits[index]].extend(made)
        notes.update(challenge_notes)
        per_split[splits[index]] += 1
    description = {
        "challenges": n,
        "first_seed": first_seed,
        "entities_per_challenge": ENTITIES_PER_CHALLENGE,
        "challenges_per_split": {split: per_split[split] for split, _ in SPLIT_FRACTIONS},
    }
    return drafts, notes, description
