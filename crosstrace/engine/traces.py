"""Step-by-step training traces for engine challenges, ending in the DACR answer JSON.

    from crosstrace.engine.traces import render_trace
    text = render_trace(challenge)

A trace walks through every question in order: each step cites the paragraph it reads
(`[P14]`), lists the values it compares, names a conflicting value and the words that make it
provisional before using the authoritative one, and writes each computation out. It ends with
the answers as one JSON object in the DACR answer format,
`{"q01": {"answer": "...", "citation": "...", "confidence": 0.9}, ...}`, where every answer
is the question's gold answer (tested).

Everything is rendered from the challenge dict alone (document text, facts, traps, reasoning
chains), so a trace can be rebuilt from any engine benchmark file.
"""

from __future__ import annotations

from typing import Any

from crosstrace.engine.domains import DOMAIN_SPECS
from crosstrace.engine.numbers import exact, fixed
from crosstrace.engine.spec import Domain, Numeric
from crosstrace.jsonio import dumps

# Confidence stated in the answer JSON, by difficulty; a trap question is never "easy".
CONFIDENCE = {"easy": 0.95, "medium": 0.9, "hard": 0.85}
OPENING = "I answer each question from the document alone and cite paragraphs as [P<number>]."


class _Renderer:
    def __init__(self, challenge: dict[str, Any]):
        self.challenge = challenge
        self.domain: Domain = DOMAIN_SPECS[challenge["source"]["domain"]]
        self.facts = {f["factId"]: f for f in challenge["facts"]}
        self.by_key = {(f["entity"], f["attribute"]): f for f in challenge["facts"]}
        # Every paragraph a chain cites is the location of some fact.
        self.sections = {f["location"]["paragraphIndex"]: f["location"]["section"] for f in challenge["facts"]}

    def written(self, attribute_key: str, value: Any) -> str:
        """A value as the document writes it, with its unit."""
        attribute = self.domain.attribute(attribute_key)
        if isinstance(attribute, Numeric):
            return attribute.quantity(fixed(exact(str(value)), attribute.decimals, attribute.grouping))
        return str(value)

    def label(self, key: str) -> str:
        return self.domain.attribute(key).label

    def cite(self, entity: str, key: str) -> str:
        return f"[P{self.by_key[(entity, key)]['location']['paragraphIndex']}]"

    def listing(self, key: str, values: dict[str, Any]) -> str:
        return "; ".join(
            f"{entity} {self.written(key, value)} {self.cite(entity, key)}" for entity, value in values.items()
        )

    def step(self, step: dict[str, Any], steps: dict[int, dict[str, Any]]) -> str:
        action = step["action"]
        if action == "lookup" and isinstance(step["result"], dict):
            return (
                f"{_cap(self.label(step['attribute']))} for each: {self.listing(step['attribute'], step['result'])}."
            )
        if action == "lookup":
            entity = steps[step["entityFromStep"]]["result"] if "entityFromStep" in step else step["entity"]
            if step["attribute"] == self.domain.relation.key:
                return f"{self.cite(entity, step['attribute'])} {entity} {self.domain.relation.chain_verb} {step['result']}."
            return f"{self.cite(entity, step['attribute'])} gives the {self.label(step['attribute'])} of {entity}: {self.written(step['attribute'], step['result'])}."
        if action == "bridge":
            entity = steps[step["entityFromStep"]]["result"] if "entityFromStep" in step else step["entity"]
            return (
                f"{self.cite(entity, step['relation'])} {entity} {self.domain.relation.chain_verb} {step['result']}."
            )
        if action == "filter":
            wanted = steps[step["valueFromStep"]]["result"] if "valueFromStep" in step else step["value"]
            condition = {
                "==": f"is {wanted}",
                ">": f"is above {self.written(step['attribute'], wanted)}",
                "<": f"is below {self.written(step['attribute'], wanted)}",
            }[step["operator"]]
            kept = ", ".join(step["result"]) or "none"
            return f"{_cap(self.label(step['attribute']))}: {self.listing(step['attribute'], step['values'])}. Those whose {self.label(step['attribute'])} {condition}: {kept}."
        if action in ("argmax", "argmin"):
            attribute = self.domain.attribute(step["attribute"])
            assert isinstance(attribute, Numeric)
            word = attribute.most if action == "argmax" else attribute.least
            best = step["result"]
            return f"{_cap(attribute.label)}: {self.listing(step['attribute'], step['values'])}. The {word} is {best} ({self.written(step['attribute'], step['values'][best])})."
        if action == "select":
            attribute = self.domain.attribute(steps[step["operandSteps"][0]]["attribute"])
            assert isinstance(attribute, Numeric)
            word = attribute.most if step["mode"] == "max" else attribute.least
            return f"Comparing these, the {word} {attribute.label} belongs to {step['result']}."
        if action == "compute":
            return f"Compute: {step['expression']}."
        if action == "count":
            members = steps[step["overFromStep"]]["result"]
            return f"That makes {step['result']} ({', '.join(members)})." if members else "That makes 0."
        if action == "reject_trap":
            return self.conflict(step)
        raise ValueError(f"unknown action {action!r}")

    def conflict(self, step: dict[str, Any]) -> str:
        fact = self.facts[step["factId"]]
        key, entity = fact["attribute"], fact["entity"]
        rejected_at = _and([f"[P{p}]" for p in step["rejectedParagraphs"]])
        accepted_at = _and([f"[P{p}]" for p in step["acceptedParagraphs"]])
        verb_wrong = "give" if len(step["rejectedParagraphs"]) > 1 else "gives"
        verb_right = "give" if len(step["acceptedParagraphs"]) > 1 else "gives"
        cues_wrong = " / ".join(f'"{c}"' for c in step["rejectedCues"])
        cues_right = " / ".join(f'"{c}"' for c in step["acceptedCues"])
        wrong, right = self.written(key, step["rejectedValue"]), self.written(key, step["acceptedValue"])
        return (
            f"Conflict for the {self.label(key)} of {entity}: {rejected_at} {verb_wrong} {wrong}, worded as {cues_wrong}, which marks it provisional; "
            f"{accepted_at} {verb_right} {right}, worded as {cues_right}. The provisional value is not the reported one, so I reject {wrong} and use {right}."
        )

    def question(self, question: dict[str, Any]) -> tuple[str, str]:
        """The trace block for one question and the citation for its answer."""
        chain = question["reasoningChain"]
        steps = {s["step"]: s for s in chain}
        lines = [f"{question['questionId']}: {question['text']}"]
        for index, step in enumerate(chain):
            if step["action"] in ("answer", "reject_trap"):
                continue
            following = chain[index + 1] if index + 1 < len(chain) else None
            if following is not None and following["action"] == "reject_trap":
                # Settle the conflict before using the value it concerns.
                lines.append(f"- {self.conflict(following)}")
            lines.append(f"- {self.step(step, steps)}")
        lines.append(f"Answer: {question['goldAnswer']}")
        return "\n".join(lines), self.citation(chain)

    def citation(self, chain: list[dict[str, Any]]) -> str:
        """The paragraphs that decide the answer, grouped by section: a lookup's paragraph, the
        winner of a ranking, the members a filter keeps, a relation followed."""
        paragraphs: list[int] = []
        for step in chain:
            action, result = step["action"], step.get("result")
            if action in ("argmax", "argmin"):
                decisive = [self.by_key[(result, step["attribute"])]]
            elif action == "filter":
                decisive = [self.by_key[(entity, step["attribute"])] for entity in result]
            elif "factIds" in step and action in ("lookup", "bridge"):
                decisive = [self.facts[fact_id] for fact_id in step["factIds"]]
            else:
                continue
            for fact in decisive:
                paragraph = fact["location"]["paragraphIndex"]
                if paragraph not in paragraphs:
                    paragraphs.append(paragraph)
        by_section: dict[str, list[int]] = {}
        for paragraph in paragraphs:
            by_section.setdefault(self.sections[paragraph], []).append(paragraph)
        parts = [
            f"{section}, paragraph{'s' if len(ps) > 1 else ''} {_and([str(p) for p in ps])}"
            for section, ps in by_section.items()
        ]
        return "; ".join(parts) or "the document"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def answers_json(answers: dict[str, dict[str, Any]]) -> str:
    """The DACR answer object, one question per line (the layout of the prompt's example)."""
    lines = [f'  "{qid}": {dumps(entry)}' for qid, entry in answers.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


def render_trace(challenge: dict[str, Any]) -> str:
    renderer = _Renderer(challenge)
    blocks, answers = [OPENING], {}
    for question in challenge["questions"]:
        block, citation = renderer.question(question)
        blocks.append(block)
        confidence = CONFIDENCE[question["difficulty"]]
        answers[question["questionId"]] = {
            "answer": question["goldAnswer"],
            "citation": citation,
            "confidence": confidence,
        }
    blocks.append("Final answers:\n" + answers_json(answers))
    return "\n\n".join(blocks)
