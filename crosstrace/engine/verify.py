"""Independent verification of a challenge: read the facts back out of the text, solve again.

Nothing here looks at the world the document was rendered from. The reader knows only what a
careful human reader knows: the domain's vocabulary (attribute labels, units, categorical
values, the phrases that state a value) and the authority cues. It

1. splits the text into numbered paragraphs and sentences, finds the entity list in the
   methods, and reads every stated value, with the sentence's subject as its entity and the
   sentence's cue words as its status; tables are read cell by cell;
2. resolves each (entity, attribute): one value, or two conflicting values of which exactly
   one is stated authoritatively and the other only provisionally (else: unresolvable);
3. checks the challenge against what it read: every fact's value and paragraph, nothing stated
   that is not a fact, every trap's wrong value present and different from the correct one,
   every conflict in the text listed as a trap;
4. re-solves every question from its reasoning chain with its own executor on the facts it
   read: the gold answer must come out, argmax/argmin must have no ties, a trap question's
   answer must change when its trap's value is believed, and no other question's may.

`verify_challenge` returns a list of problems; an empty list means the challenge passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any

from crosstrace.engine import lexicon
from crosstrace.engine.domains import DOMAIN_SPECS
from crosstrace.engine.numbers import NUMBER_PATTERN, exact, fixed
from crosstrace.engine.spec import Categorical, Domain, Numeric

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_NUMBER = re.compile(NUMBER_PATTERN)
_TAIL = 4  # characters before a number used to find the phrases that may precede it
_LABEL = re.compile(r"\[P(\d+)\] ")  # matched at the paragraph start (after any heading)


@dataclass(frozen=True)
class Reading:
    entity: str
    attribute: str
    value: str  # plain text: numbers without thousands commas
    status: str  # "neutral" | "provisional" | "authoritative"
    paragraph: int
    offset: int  # character offset in the whole text, for positional audits
    sentence: str


@dataclass
class ReadDocument:
    entities: list[str]
    readings: list[Reading]
    sections: dict[int, str]  # paragraph -> section heading (without its number)
    paragraphs: list[str]  # paragraph bodies, index = paragraph number
    problems: list[str]

    def resolve(self) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], tuple[str, str]], list[str]]:
        """(value per fact, conflicts as (authoritative, provisional) per fact, problems)."""
        grouped: dict[tuple[str, str], list[Reading]] = {}
        for reading in self.readings:
            grouped.setdefault((reading.entity, reading.attribute), []).append(reading)
        values, conflicts, problems = {}, {}, []
        for key, readings in grouped.items():
            distinct = sorted({r.value for r in readings})
            if len(distinct) == 1:
                values[key] = distinct[0]
                continue
            authoritative = sorted({r.value for r in readings if r.status == "authoritative"})
            provisional = sorted({r.value for r in readings if r.status == "provisional"})
            if (
                len(distinct) == 2
                and len(authoritative) == 1
                and len(provisional) == 1
                and authoritative != provisional
            ):
                values[key] = authoritative[0]
                conflicts[key] = (authoritative[0], provisional[0])
            else:
                problems.append(f"{key[0]} {key[1]}: conflicting values {distinct} that the wording does not resolve")
        return values, conflicts, problems


class _Patterns:
    """What the reader recognises in one domain, prepared once.

    Numeric values are found as numbers preceded by a known phrase ("a light yield of ") and
    followed by the attribute's unit. Categorical and relation statements are whole sentences
    of known shapes, tried only on sentences that contain a vocabulary word or relation verb.
    """

    def __init__(self, domain: Domain):
        self.domain = domain
        # phrase before the number -> [(attribute key, text that must follow the number)]
        self.prefixes: dict[str, list[tuple[str, str]]] = {}
        for attribute in domain.numerics:
            unit = (
                ""
                if not attribute.unit
                else attribute.unit
                if attribute.unit.startswith("%")
                else " " + attribute.unit
            )
            for phrase in lexicon.NUMERIC_PHRASES + attribute.phrasings:
                before = phrase.replace("{label}", attribute.label).split("{V}")[0]
                for article in ("a", "an"):
                    self.prefixes.setdefault(before.replace("{a}", article), []).append((attribute.key, unit))
        # Prefixes by their last four characters, longest first: a number is looked up by the
        # text just before it, so only a handful of prefixes are ever compared.
        self.by_tail: dict[str, list[str]] = {}
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            self.by_tail.setdefault(prefix[-_TAIL:], []).append(prefix)
        self.name = re.compile(domain.name_pattern)

        name = f"(?:{domain.name_pattern})"
        # (attribute key, words whose presence makes a sentence worth trying, anchored patterns)
        self.statements: list[tuple[str, tuple[str, ...], list[re.Pattern[str]]]] = []
        for attribute in domain.categoricals:
            vocabulary = "|".join(re.escape(v) for v in sorted(attribute.values, key=len, reverse=True))
            frames = (
                attribute.phrasings + lexicon.PROVISIONAL_CATEGORICAL + lexicon.PROVISIONAL_CATEGORICAL_BEFORE
                + lexicon.AUTHORITATIVE_CATEGORICAL + lexicon.AUTHORITATIVE_CATEGORICAL_AFTER
            )  # fmt: skip
            compiled = [
                re.compile(
                    _template_regex(
                        f.replace("{L}", attribute.label), {"{E}": f"(?P<e>{name})", "{V}": f"(?P<v>{vocabulary})"}
                    )
                )
                for f in frames
            ]
            self.statements.append((attribute.key, attribute.values, compiled))
        relation = domain.relation
        verbs = tuple(frame.split("{E}")[1].split("{T}")[0] for frame in relation.phrasings)
        compiled = [
            re.compile(_template_regex(frame, {"{E}": f"(?P<e>{name})", "{T}": f"(?P<v>{name})"}))
            for frame in relation.phrasings
        ]
        self.statements.append((relation.key, verbs, compiled))
        self.listing = [
            re.compile(
                _template_regex(
                    frame,
                    {
                        "{n}": r"[\w-]+",
                        "{kinds}": re.escape(domain.kinds),
                        "{LIST}": f"(?P<list>{name}(?:(?:, | and ){name})+)",
                    },
                )
            )
            for frame in lexicon.ENTITY_LIST
        ]
        self.headers: dict[str, Numeric | Categorical] = {a.header: a for a in domain.numerics}
        self.headers.update({a.label[0].upper() + a.label[1:]: a for a in domain.categoricals})

    def numeric_values(self, sentence: str) -> list[tuple[str, str, int]]:
        """(attribute key, value, offset) for every numeric value stated in `sentence`."""
        found = []
        for number in _NUMBER.finditer(sentence):
            start = number.start()
            for prefix in self.by_tail.get(sentence[start - _TAIL : start], ()):
                head = start - len(prefix)
                if head >= 0 and sentence.startswith(prefix, head) and (head == 0 or not sentence[head - 1].isalnum()):
                    for key, unit in self.prefixes[prefix]:
                        if (
                            sentence.startswith(unit, number.end())
                            and not sentence[number.end() + len(unit) : number.end() + len(unit) + 1].isalnum()
                        ):
                            found.append((key, number.group(0).replace(",", ""), head))
                    break
        return found

    def statements_in(self, sentence: str) -> list[tuple[str, str, str]]:
        """(attribute key, entity, value) when `sentence` is a categorical or relation statement."""
        found = []
        for key, words, compiled in self.statements:
            if not any(word in sentence for word in words):
                continue
            for pattern in compiled:
                match = pattern.fullmatch(sentence)
                if match:
                    found.append((key, match.group("e"), match.group("v")))
                    break
        return found


def _template_regex(template: str, slots: dict[str, str]) -> str:
    pattern = re.escape(template)
    for slot, regex in slots.items():
        pattern = pattern.replace(re.escape(slot), regex)
    return pattern


@cache
def _patterns(domain_name: str) -> _Patterns:
    return _Patterns(DOMAIN_SPECS[domain_name])


def _status(sentence: str) -> str:
    provisional = bool(lexicon.PROVISIONAL_RE.search(sentence))
    authoritative = bool(lexicon.AUTHORITATIVE_RE.search(sentence))
    if provisional and authoritative:
        return "mixed"
    return "provisional" if provisional else "authoritative" if authoritative else "neutral"


@lru_cache(maxsize=4)
def read_document(text: str, domain_name: str) -> ReadDocument:
    """Every value the text states, with entity, status and place.

    Cached for the last few texts (verification, then the shortcut audit, read the same
    document): treat the result as read-only."""
    patterns = _patterns(domain_name)
    problems: list[str] = []
    raw = text.split("\n\n")
    bodies, sections, starts = [raw[0]], {0: "title"}, [0]
    offset, section = len(raw[0]) + 2, ""
    for index, paragraph in enumerate(raw[1:], start=1):
        head = 0
        if paragraph.startswith("## "):
            heading, _, _ = paragraph.partition("\n")
            section = re.sub(r"^\d+\.\s*", "", heading[3:])
            head = len(heading) + 1
        label = _LABEL.match(paragraph, head)
        if not label or int(label.group(1)) != index:
            problems.append(f"paragraph {index} is not labelled [P{index}]")
            head_end = head
        else:
            head_end = label.end()
        bodies.append(paragraph[head_end:])
        starts.append(offset + head_end)
        sections[index] = section
        offset += len(paragraph) + 2

    entities: list[str] = []
    for body in bodies:
        for listing in patterns.listing:
            found = listing.search(body)
            if found:
                entities = re.split(r", | and ", found.group("list"))
                break
        if entities:
            break
    if not entities:
        return ReadDocument([], [], sections, bodies, [*problems, "no entity list found"])
    known = set(entities)
    readings: list[Reading] = []
    for index, body in enumerate(bodies):
        if index == 0:
            continue
        if body.startswith("Table ") and "\n|" in body:
            readings += _read_table(body, index, starts[index], patterns, known, problems)
            continue
        sentences = _SENTENCE_BREAK.split(body)
        position = 0
        for number, sentence in enumerate(sentences):
            start = body.index(sentence, position)
            position = start + len(sentence)
            values = patterns.numeric_values(sentence)
            statements = patterns.statements_in(sentence)
            if not values and not statements:
                continue
            status = _status(sentence)
            base = starts[index] + start
            if values:
                # The entity is the sentence's first named entity, else the nearest earlier
                # sentence's in the same paragraph ("It also showed ...").
                subject = None
                for earlier in range(number, -1, -1):
                    subject = _first_entity(sentences[earlier], patterns, known)
                    if subject:
                        break
                for key, value, at in values:
                    if subject is None:
                        problems.append(f"paragraph {index}: a value with no entity in {sentence!r}")
                        continue
                    readings.append(Reading(subject, key, value, status, index, base + at, sentence))
            for key, entity, value in statements:
                if entity not in known:
                    problems.append(f"paragraph {index}: statement about unknown entity {entity!r}")
                    continue
                readings.append(Reading(entity, key, value, status, index, base, sentence))
    return ReadDocument(entities, readings, sections, bodies, problems)


def _first_entity(sentence: str, patterns: _Patterns, known: set[str]) -> str | None:
    for match in patterns.name.finditer(sentence):
        if match.group(0) in known:
            return match.group(0)
    return None


def _read_table(
    body: str, paragraph: int, start: int, patterns: _Patterns, entities: set[str], problems: list[str]
) -> list[Reading]:
    lines = body.split("\n")
    caption, header_line = lines[0], lines[1]
    header = [cell.strip() for cell in header_line.strip("|").split("|")]
    columns = [patterns.headers.get(cell) for cell in header[1:]]
    if None in columns:
        problems.append(f"paragraph {paragraph}: unknown table column in {header!r}")
        return []
    status = _status(caption)
    readings, offset = [], start + len(caption) + 1 + len(header_line) + 1 + len(lines[2]) + 1
    for line in lines[3:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] not in entities or len(cells) != len(header):
            problems.append(f"paragraph {paragraph}: unreadable table row {line!r}")
            offset += len(line) + 1
            continue
        for attribute, cell in zip(columns, cells[1:], strict=True):
            assert attribute is not None
            value = cell.replace(",", "") if isinstance(attribute, Numeric) else cell
            readings.append(Reading(cells[0], attribute.key, value, status, paragraph, offset, line))
        offset += len(line) + 1
    return readings


# --- the verifier's executor -------------------------------------------------------------------


class _Unsolvable(ValueError):
    pass


class _Solver:
    """Runs a reasoning chain on values read from the text."""

    def __init__(self, values: dict[tuple[str, str], str], entities: list[str], domain: Domain):
        self.values = values
        self.entities = entities
        self.domain = domain
        self.steps: dict[int, dict[str, Any]] = {}

    def get(self, entity: str, attribute: str) -> str:
        try:
            return self.values[(entity, attribute)]
        except KeyError:
            raise _Unsolvable(f"the text states no {attribute} for {entity}") from None

    def solve(self, chain: list[dict[str, Any]]) -> tuple[Any, dict[int, Any]]:
        out: dict[int, Any] = {}
        last: Any = None
        self.steps = {step["step"]: step for step in chain}
        for step in chain:
            if step["action"] in ("reject_trap", "answer"):
                continue  # annotations, checked by `_check_question`
            handler = getattr(self, "_" + step["action"], None)
            if handler is None:
                raise _Unsolvable(f"unknown action {step['action']!r}")
            last = out[step["step"]] = handler(step, out)
        return last, out

    def _members(self, step: dict[str, Any], out: dict[int, Any]) -> list[str]:
        if "overFromStep" in step:
            return list(out[step["overFromStep"]])
        return list(self.entities) if step.get("over", "all") == "all" else list(step["over"])

    def _entity(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        return out[step["entityFromStep"]] if "entityFromStep" in step else step["entity"]

    def _lookup(self, step: dict[str, Any], out: dict[int, Any]) -> Any:
        if "over" in step or "overFromStep" in step:
            return {e: self.get(e, step["attribute"]) for e in self._members(step, out)}
        return self.get(self._entity(step, out), step["attribute"])

    def _bridge(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        return self.get(self._entity(step, out), step["relation"])

    def _filter(self, step: dict[str, Any], out: dict[int, Any]) -> list[str]:
        wanted = out[step["valueFromStep"]] if "valueFromStep" in step else step["value"]
        kept = []
        for entity in self._members(step, out):
            value = self.get(entity, step["attribute"])
            if step["operator"] == "==":
                keep = value == wanted
            elif step["operator"] == ">":
                keep = exact(value) > exact(wanted)
            else:
                keep = exact(value) < exact(wanted)
            if keep:
                kept.append(entity)
        return kept

    def _best(self, scores: dict[str, Fraction], largest: bool) -> str:
        ordered = sorted(scores.items(), key=lambda item: item[1], reverse=largest)
        if not ordered:
            raise _Unsolvable("nothing to rank")
        if len(ordered) > 1 and ordered[0][1] == ordered[1][1]:
            raise _Unsolvable(f"tie between {ordered[0][0]} and {ordered[1][0]}")
        return ordered[0][0]

    def _argmax(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        return self._best({e: exact(self.get(e, step["attribute"])) for e in self._members(step, out)}, True)

    def _argmin(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        return self._best({e: exact(self.get(e, step["attribute"])) for e in self._members(step, out)}, False)

    def _select(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        # The operands are lookups of one entity each; rank those entities by what they read.
        return self._best(
            {self._entity(self.steps[k], out): exact(out[k]) for k in step["operandSteps"]}, step["mode"] == "max"
        )

    def _count(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        return str(len(out[step["overFromStep"]]))

    def _compute(self, step: dict[str, Any], out: dict[int, Any]) -> str:
        operands = [out[k] for k in step["operandSteps"]]
        formula = step["formula"]
        if formula in ("mean", "sum", "range"):
            numbers = sorted(exact(v) for v in operands[0].values())
            if not numbers:
                raise _Unsolvable("empty group")
            total = sum(numbers, Fraction(0))
            value = (
                total / len(numbers) if formula == "mean" else total if formula == "sum" else numbers[-1] - numbers[0]
            )
        else:
            first, second = (exact(v) for v in operands)
            if formula == "difference":
                value = first - second
            elif formula == "absolute_difference":
                value = abs(first - second)
            elif formula == "ratio":
                value = first / second
            elif formula == "percent_change":
                value = 100 * (first - second) / second
            else:
                raise _Unsolvable(f"unknown formula {formula!r}")
        return fixed(value, step["decimals"])


def _same(answer: Any, gold: str) -> bool:
    return isinstance(answer, str) and answer == gold


def verify_challenge(challenge: dict[str, Any]) -> list[str]:
    """Problems found by reading the text and re-solving; empty when the challenge is valid."""
    source = challenge.get("source", {})
    domain_name = source.get("domain") if source.get("type") == "engine" else None
    if domain_name not in DOMAIN_SPECS:
        return [f"not an engine challenge of a known domain (source {source!r})"]
    domain = DOMAIN_SPECS[domain_name]
    text = challenge["document"]["text"]
    read = read_document(text, domain_name)
    problems = list(read.problems)
    if challenge["document"]["paragraphCount"] != len(read.paragraphs):
        problems.append(
            f"paragraphCount {challenge['document']['paragraphCount']} but the text has {len(read.paragraphs)}"
        )
    if challenge["document"]["wordCount"] != len(text.split()):
        problems.append("wordCount does not match the text")
    values, conflicts, unresolved = read.resolve()
    problems += unresolved

    facts = {(f["entity"], f["attribute"]): f for f in challenge["facts"]}
    for key, fact in facts.items():
        stated = values.get(key)
        if stated is None:
            problems.append(f"fact {fact['factId']} is not stated in the text")
            continue
        if not _equal(stated, fact["value"]):
            problems.append(f"fact {fact['factId']}: text says {stated}, fact says {fact['value']}")
        paragraph = fact["location"]["paragraphIndex"]
        here = [
            r
            for r in read.readings
            if (r.entity, r.attribute) == key and r.paragraph == paragraph and _equal(r.value, fact["value"])
        ]
        if not here:
            problems.append(f"fact {fact['factId']}: value not stated in paragraph {paragraph}")
        elif fact["location"]["contextQuote"] not in read.paragraphs[paragraph]:
            problems.append(f"fact {fact['factId']}: contextQuote not in paragraph {paragraph}")
    for key in values:
        if key not in facts:
            problems.append(f"the text states a {key[1]} for {key[0]} that is not a fact")

    traps = {t["trapId"]: t for t in challenge["traps"]}
    trapped: dict[str, tuple[str, str]] = {}
    fact_keys = {f["factId"]: key for key, f in facts.items()}
    for trap_id, trap in traps.items():
        key = fact_keys.get(trap["targetFactId"])
        if key is None:
            problems.append(f"trap {trap_id} targets unknown fact {trap['targetFactId']}")
            continue
        trapped[trap_id] = key
        if _equal(str(trap["wrongValue"]), trap["correctValue"]):
            problems.append(f"trap {trap_id}: wrong value equals the correct value")
        if key not in conflicts:
            problems.append(f"trap {trap_id}: the text holds no resolvable conflict for {key}")
        elif not (_equal(conflicts[key][0], trap["correctValue"]) and _equal(conflicts[key][1], trap["wrongValue"])):
            problems.append(f"trap {trap_id}: the text's conflict {conflicts[key]} differs from the trap's values")
        location = trap["trapLocation"]
        paragraph = location["paragraphIndex"]
        if not (0 < paragraph < len(read.paragraphs)) or location["injectedText"] not in read.paragraphs[paragraph]:
            problems.append(f"trap {trap_id}: injected text not found in paragraph {paragraph}")
    for key in conflicts:
        if key not in trapped.values():
            problems.append(f"the text holds a conflict for {key} that no trap lists")

    solver = _Solver(values, read.entities, domain)
    for question in challenge["questions"]:
        problems += _check_question(question, solver, trapped, traps, values)
    return problems


def _check_question(
    question: dict[str, Any],
    solver: _Solver,
    trapped: dict[str, tuple[str, str]],
    traps: dict[str, Any],
    values: dict[tuple[str, str], str],
) -> list[str]:
    qid, chain = question["questionId"], question["reasoningChain"]
    try:
        answer, results = solver.solve(chain)
    except (_Unsolvable, ZeroDivisionError, KeyError, TypeError) as error:
        return [f"{qid}: cannot be solved from the text ({error})"]
    problems = []
    if not _same(answer, question["goldAnswer"]):
        problems.append(f"{qid}: re-solved answer {answer!r} differs from gold {question['goldAnswer']!r}")
    for step in chain:
        if step["step"] in results and "result" in step and results[step["step"]] != step["result"]:
            problems.append(
                f"{qid}: step {step['step']} gives {results[step['step']]!r}, chain says {step['result']!r}"
            )
    hop_count = sum(step["action"] in ("lookup", "filter", "argmax", "argmin", "bridge") for step in chain)
    if hop_count != question["hops"]:
        problems.append(f"{qid}: hops {question['hops']} but the chain has {hop_count}")
    for trap_id, key in trapped.items():
        believed = dict(values)
        believed[key] = str(traps[trap_id]["wrongValue"])
        try:
            fooled, _ = _Solver(believed, solver.entities, solver.domain).solve(chain)
        except (_Unsolvable, ZeroDivisionError, KeyError, TypeError):
            fooled = None
        changes = fooled != answer
        if question["targetsTrap"] == trap_id and not changes:
            problems.append(f"{qid}: targets {trap_id} but believing the trap gives the same answer")
        if question["targetsTrap"] != trap_id and changes:
            problems.append(f"{qid}: believing trap {trap_id} changes its answer but it does not target it")
    if question["targetsTrap"] is not None and question["targetsTrap"] not in traps:
        problems.append(f"{qid}: targets unknown trap {question['targetsTrap']}")
    for step in chain:
        if step["action"] != "reject_trap":
            continue
        trap = traps.get(step["trapId"])
        if trap is None or step["trapId"] != question["targetsTrap"]:
            problems.append(
                f"{qid}: step {step['step']} rejects trap {step['trapId']}, which the question does not target"
            )
        elif not (
            _equal(step["rejectedValue"], trap["wrongValue"]) and _equal(step["acceptedValue"], trap["correctValue"])
        ):
            problems.append(f"{qid}: step {step['step']} swaps or misstates the trap's values")
        elif trap["trapLocation"]["paragraphIndex"] not in step["rejectedParagraphs"]:
            problems.append(f"{qid}: step {step['step']} does not cite the trap's paragraph")
    return problems


def _equal(text: str, value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return exact(text) == exact(value)
        except (ValueError, ZeroDivisionError):
            return False
    return text == value
