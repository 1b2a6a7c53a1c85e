"""The CrossTrace trace record, its chat rendering, and structural compliance.

A trace record is Input (field context, conventional assumption, key prior work), Trace (3-6
reasoning steps, each optionally grounded in a quote of the source paper) and Output (spark,
hypothesis, approach), plus metadata. The released chat format renders it as

    user:       Field context: ...\\n\\nConventional assumption: ...\\n\\nKey prior work: a; b; c
    assistant:  Core insight: <spark>\\n\\nReasoning:\\n1. ...\\n2. ...\\n\\nHypothesis: ...\\n\\nApproach: ...

HypoGen records (`source="hypogen"`) have no key prior work, one unnumbered reasoning paragraph
and no Approach. `parse_chat` is strict (the released layout exactly) so that
`render_user`/`render_assistant` give the released text back byte for byte; `parse_assistant`
and `check_compliance` are tolerant readers of model output.

    >>> record = parse_chat(messages)                 # a released [system, user, assistant] list
    >>> render_assistant(record) == messages[2]["content"]
    True
    >>> check_compliance(model_text).violations       # e.g. ['missing_section:approach']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from crosstrace.jsonio import dumps

# Bump when the compliance definition changes (README "Structural compliance" documents it):
# results computed under different versions are not comparable.
COMPLIANCE_VERSION = "crosstrace-compliance-1.0"

PROFILES = ("crosstrace", "hypogen")
MIN_STEPS, MAX_STEPS = 3, 6

# Released wording of the section labels, in order.
FIELD_CONTEXT, ASSUMPTION, PRIOR_WORK = "Field context: ", "Conventional assumption: ", "Key prior work: "
SPARK, REASONING, HYPOTHESIS, APPROACH = "Core insight: ", "Reasoning:", "Hypothesis: ", "Approach: "
PRIOR_WORK_SEPARATOR = "; "
SECTION_BREAK = "\n\n"
# The system message for records whose source carries none (raw records, HypoGen hub rows).
# Our own wording; builds that also read the released chat files use the release's message.
DEFAULT_SYSTEM_PROMPT = (
    "You are an assistant for scientific reasoning. You are given what a research field currently knows "
    "and the conventional assumption it rests on; reason step by step to a new, testable hypothesis."
)

# Assistant sections as compliance names them, in the order each profile expects.
SECTION_KEYS = {
    "core insight": "core_insight",
    "reasoning": "reasoning",
    "hypothesis": "hypothesis",
    "approach": "approach",
}
PROFILE_SECTIONS = {
    "crosstrace": ("core_insight", "reasoning", "hypothesis", "approach"),
    "hypogen": ("core_insight", "reasoning", "hypothesis"),
}


class SchemaError(ValueError):
    """A record or text that does not fit the schema; `field` names the part at fault."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class PriorWork:
    """One key prior work: the reference as shown to the model, and its DOI when the raw source has one."""

    ref: str
    doi: str | None = None


@dataclass(frozen=True)
class Grounding:
    """Where a reasoning step comes from: `source` reads like "Section, paragraph N: 'exact quote'"."""

    step: int  # 1-based index into TraceRecord.steps
    source: str


@dataclass
class TraceRecord:
    """One trace. `source` is "crosstrace" or "hypogen" and doubles as the compliance profile."""

    field_context: str
    conventional_assumption: str
    key_prior_work: list[PriorWork]
    spark: str
    steps: list[str]  # hypogen: a single item, the reasoning paragraph
    hypothesis: str
    approach: str | None  # None for hypogen
    grounding: list[Grounding] = field(default_factory=list)
    source: str = "crosstrace"
    domain: str | None = None
    paper_id: str | None = None
    patterns: list[str] = field(default_factory=list)
    extraction_confidence: float | None = None
    explicitness: float | None = None
    system_prompt: str | None = None  # the chat's system message, kept so `to_messages` is lossless

    def __post_init__(self) -> None:
        if self.source not in PROFILES:
            raise SchemaError("source", f"must be one of {PROFILES}, got {self.source!r}")

    def grounding_for(self, step: int) -> list[Grounding]:
        """The grounding entries of the 1-based `step`."""
        return [g for g in self.grounding if g.step == step]

    def to_messages(self) -> list[dict[str, str]]:
        """The chat rendering: [system, user, assistant] (no system message when there is no prompt)."""
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt is not None else []
        return [
            *messages,
            {"role": "user", "content": render_user(self)},
            {"role": "assistant", "content": render_assistant(self)},
        ]


# ----------------------------------------------------------------------------- rendering


def _require_single_line(field_name: str, text: str) -> None:
    # A newline inside a field could merge with the layout's own separators; every released
    # field is a single line, so refusing these keeps render -> parse an exact inverse.
    if "\n" in text:
        raise SchemaError(field_name, "contains a newline; fields of the chat layout are single lines")


def render_user(record: TraceRecord) -> str:
    """The user message: field context, conventional assumption, key prior work (when any)."""
    _require_single_line("field_context", record.field_context)
    _require_single_line("conventional_assumption", record.conventional_assumption)
    sections = [FIELD_CONTEXT + record.field_context, ASSUMPTION + record.conventional_assumption]
    if record.key_prior_work:
        for index, work in enumerate(record.key_prior_work):
            _require_single_line(f"key_prior_work[{index}]", work.ref)
            if PRIOR_WORK_SEPARATOR in work.ref:
                raise SchemaError(f"key_prior_work[{index}]", f"contains the separator {PRIOR_WORK_SEPARATOR!r}")
        sections.append(PRIOR_WORK + PRIOR_WORK_SEPARATOR.join(work.ref for work in record.key_prior_work))
    return SECTION_BREAK.join(sections)


def render_reasoning(record: TraceRecord) -> str:
    for index, step in enumerate(record.steps):
        _require_single_line(f"steps[{index}]", step)
    if record.source == "hypogen":
        if len(record.steps) != 1:
            raise SchemaError("steps", f"a hypogen record has one reasoning paragraph, got {len(record.steps)} items")
        if not record.steps[0]:
            # "Reasoning:\n" + "" would run into the next section's blank line.
            raise SchemaError("steps[0]", "the hypogen reasoning paragraph is empty")
        return REASONING + "\n" + record.steps[0]
    return REASONING + "".join(f"\n{number}. {step}" for number, step in enumerate(record.steps, start=1))


def render_assistant(record: TraceRecord) -> str:
    """The assistant message: core insight, reasoning, hypothesis, approach (not for hypogen)."""
    _require_single_line("spark", record.spark)
    _require_single_line("hypothesis", record.hypothesis)
    sections = [SPARK + record.spark, render_reasoning(record), HYPOTHESIS + record.hypothesis]
    if record.source == "hypogen":
        if record.approach is not None:
            raise SchemaError("approach", "a hypogen record has no approach")
    else:
        if record.approach is None:
            raise SchemaError("approach", "missing (only hypogen records have no approach)")
        _require_single_line("approach", record.approach)
        sections.append(APPROACH + record.approach)
    return SECTION_BREAK.join(sections)


def record_id(record: TraceRecord) -> str:
    """The record's id in the published dataset (its `id` column): the first 16 hex digits of sha256
    over its source, user and assistant text. Evaluation accepts it for the record's prompt."""
    content = dumps([record.source, render_user(record), render_assistant(record)])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]


# ----------------------------------------------------------------------------- strict parsing


def _take(section: str | None, label: str, field_name: str) -> str:
    if section is None:
        raise SchemaError(field_name, f"missing section {label.strip()!r}")
    if not section.startswith(label):
        raise SchemaError(field_name, f"expected a section starting {label!r}, found {section[:40]!r}")
    return section[len(label) :]


def parse_user(text: str, source: str = "crosstrace") -> tuple[str, str, list[PriorWork]]:
    """(field context, conventional assumption, key prior work) of a released user message."""
    sections = text.split(SECTION_BREAK)
    allowed = 2 if source == "hypogen" else 3
    if len(sections) > allowed:
        raise SchemaError("user", f"{len(sections)} blank-line separated sections, expected at most {allowed}")
    context = _take(sections[0], FIELD_CONTEXT, "user.field_context")
    assumption = _take(sections[1] if len(sections) > 1 else None, ASSUMPTION, "user.conventional_assumption")
    prior_work = []
    if len(sections) == 3:
        refs = _take(sections[2], PRIOR_WORK, "user.key_prior_work").split(PRIOR_WORK_SEPARATOR)
        prior_work = [PriorWork(ref) for ref in refs]
    return context, assumption, prior_work


def parse_released_assistant(text: str, source: str = "crosstrace") -> tuple[str, list[str], str, str | None]:
    """(spark, steps, hypothesis, approach) of a released assistant message, exactly as laid out."""
    sections = text.split(SECTION_BREAK)
    expected = 3 if source == "hypogen" else 4
    if len(sections) != expected:
        raise SchemaError("assistant", f"{len(sections)} blank-line separated sections, expected {expected}")
    spark = _take(sections[0], SPARK, "assistant.core_insight")
    reasoning = _take(sections[1], REASONING, "assistant.reasoning")
    hypothesis = _take(sections[2], HYPOTHESIS, "assistant.hypothesis")
    approach = _take(sections[3], APPROACH, "assistant.approach") if source != "hypogen" else None
    if source == "hypogen":
        if not reasoning.startswith("\n"):
            raise SchemaError("assistant.reasoning", "expected the reasoning paragraph on the line after 'Reasoning:'")
        return spark, [reasoning[1:]], hypothesis, approach
    if reasoning and not reasoning.startswith("\n"):
        raise SchemaError("assistant.reasoning", "expected the numbered steps on the lines after 'Reasoning:'")
    steps = []
    for number, line in enumerate(reasoning.split("\n")[1:], start=1):
        if not line.startswith(f"{number}. "):
            raise SchemaError(
                "assistant.reasoning",
                f"line {number} of the reasoning should start {f'{number}. '!r}, found {line[:20]!r}",
            )
        steps.append(line[len(f"{number}. ") :])
    return spark, steps, hypothesis, approach


CHAT_ROLES = ("system", "user", "assistant")


def chat_messages(
    value: Any, field: str, roles: tuple[str, ...] | None = CHAT_ROLES, allow_empty: bool = True
) -> list[dict[str, str]]:
    """A non-empty list of chat messages, each copied to exactly `{"role", "content"}`.

    The one check of a chat-message list, whatever reads one (released records, training rows,
    evaluation prompts, upstream tuning rows). `roles` are the roles accepted (None: any string);
    `allow_empty=False` also refuses a content that is only white space. Raises `SchemaError`
    naming `field`, `field[i]` (a message that is not `{role, content}`) or `field[i].content`.
    """
    if not isinstance(value, list) or not value:
        raise SchemaError(field, f"expected a non-empty list of chat messages, got {type(value).__name__}")
    messages = []
    for index, message in enumerate(value):
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or (roles is not None and role not in roles):
            expected = f"one of {roles}" if roles is not None else "str"
            raise SchemaError(f"{field}[{index}]", f"expected {{'role': {expected}, 'content': str}}")
        content = message.get("content")
        if not isinstance(content, str):
            raise SchemaError(f"{field}[{index}].content", f"expected a string, got {type(content).__name__}")
        if not allow_empty and not content.strip():
            raise SchemaError(f"{field}[{index}].content", "is empty")
        messages.append({"role": role, "content": content})
    return messages


def parse_chat(messages: Any, source: str = "crosstrace", **metadata: Any) -> TraceRecord:
    """A released [system, user, assistant] message list -> TraceRecord (metadata passed through).

    Raises SchemaError naming the field when the messages do not follow the released layout.
    """
    if source not in PROFILES:
        raise SchemaError("source", f"must be one of {PROFILES}, got {source!r}")
    messages = chat_messages(messages, "messages")
    if tuple(m["role"] for m in messages) != CHAT_ROLES:
        raise SchemaError("messages", f"expected roles {list(CHAT_ROLES)}, got {[m['role'] for m in messages]}")
    system, user, assistant = (m["content"] for m in messages)
    context, assumption, prior_work = parse_user(user, source)
    spark, steps, hypothesis, approach = parse_released_assistant(assistant, source)
    record = TraceRecord(
        field_context=context,
        conventional_assumption=assumption,
        key_prior_work=prior_work,
        spark=spark,
        steps=steps,
        hypothesis=hypothesis,
        approach=approach,
        source=source,
        system_prompt=system,
        **metadata,
    )
    # The split-based parse is the exact inverse of rendering for single-line fields; a field
    # with a stray newline would break that, so prove it on every record (cheap).
    try:
        same = render_user(record) == user and render_assistant(record) == assistant
    except SchemaError as error:
        raise SchemaError(f"messages.{error.field}", error.reason) from None
    if not same:
        raise SchemaError("messages", "does not re-render byte-identically (a field contains a layout separator)")
    return record


# ----------------------------------------------------------------------------- tolerant reading

# A section header as a reader would accept it: optional markdown heading marks, bold or italic
# around the label (before or after the colon), any case, surrounding whitespace. Either
# "Label: text" / "Label:" or a decorated label alone on its line ("## Reasoning", "**Reasoning**").
_LABELS = "|".join(SECTION_KEYS)
_EMPH = r"[*_]{0,3}"
_HEADER_WITH_COLON = re.compile(
    rf"^\s*(?:#{{1,6}}\s*)?{_EMPH}\s*(?P<label>{_LABELS})\s*{_EMPH}\s*:\s*{_EMPH}\s*(?P<rest>.*?)\s*$", re.IGNORECASE
)
_HEADER_ALONE = re.compile(rf"^\s*(?:#{{1,6}}\s*)?{_EMPH}\s*(?P<label>{_LABELS})\s*{_EMPH}\s*$", re.IGNORECASE)
# A numbered step: "1. text", "1) text", "**1.** text", "Step 1: text".
_STEP = re.compile(
    r"^\s*[*_]{0,2}(?:step\s+)?(?P<number>\d+)\s*[.):][*_]{0,2}(?:\s+(?P<text>.*?))?\s*$", re.IGNORECASE
)


@dataclass
class _Section:
    key: str
    lines: list[str]  # content lines: the rest of the header line (when any), then the lines below

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def _scan(text: str) -> tuple[list[str], list[_Section]]:
    """(lines before the first header, sections in order of appearance)."""
    preamble: list[str] = []
    sections: list[_Section] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _HEADER_WITH_COLON.match(line) or _HEADER_ALONE.match(line)
        if match:
            rest = match.groupdict().get("rest") or ""
            sections.append(_Section(SECTION_KEYS[match["label"].lower()], [rest] if rest else []))
        elif sections:
            sections[-1].lines.append(line)
        else:
            preamble.append(line)
    return preamble, sections


@dataclass
class _Steps:
    steps: list[str]
    numbers: list[int]
    unnumbered: int  # non-blank lines that are neither a step nor a step's continuation


def _read_steps(lines: list[str]) -> _Steps:
    steps: list[str] = []
    numbers: list[int] = []
    unnumbered = 0
    continues = False  # a line directly below a step (no blank line between) continues it
    for line in lines:
        if not line.strip():
            continues = False
            continue
        match = _STEP.match(line)
        if match:
            numbers.append(int(match["number"]))
            steps.append((match["text"] or "").strip())
            continues = True
        elif continues:
            steps[-1] = f"{steps[-1]} {line.strip()}".strip()
        else:
            unnumbered += 1
    return _Steps(steps, numbers, unnumbered)


def _paragraphs(lines: list[str]) -> list[str]:
    return [p.strip() for p in "\n".join(lines).split(SECTION_BREAK) if p.strip()]


@dataclass
class ParsedAssistant:
    """What a reader finds in an assistant text; None for a section that is absent."""

    spark: str | None
    steps: list[str]  # numbered steps; an unnumbered reasoning is one item
    hypothesis: str | None
    approach: str | None
    reasoning: str | None  # the Reasoning section as written


def parse_assistant(text: str) -> ParsedAssistant:
    """Tolerant parse of a model's assistant text (first occurrence of each section wins)."""
    _, sections = _scan(text)
    first: dict[str, _Section] = {}
    for section in sections:
        first.setdefault(section.key, section)

    def content(key: str) -> str | None:
        return first[key].text if key in first else None

    reasoning = content("reasoning")
    steps: list[str] = []
    if "reasoning" in first:
        numbered = _read_steps(first["reasoning"].lines)
        steps = numbered.steps if numbered.steps else ([reasoning] if reasoning else [])
    return ParsedAssistant(content("core_insight"), steps, content("hypothesis"), content("approach"), reasoning)


# ----------------------------------------------------------------------------- compliance


@dataclass
class ComplianceResult:
    compliant: bool
    violations: list[str]
    profile: str
    version: str = COMPLIANCE_VERSION


def check_compliance(text: str, profile: str = "crosstrace") -> ComplianceResult:
    """Structural compliance of an assistant text under `profile` ("crosstrace" or "hypogen").

    Violations (the README's "Structural compliance" section is the definition):
    text_before_first_section, missing_section:<s>, duplicate_section:<s>, unexpected_section:<s>,
    sections_out_of_order, empty_field:<s or step_N>, steps_not_numbered, too_few_steps:<n>,
    too_many_steps:<n>, text_after_last_section.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown compliance profile {profile!r}; expected one of {PROFILES}")
    expected = PROFILE_SECTIONS[profile]
    preamble, sections = _scan(text)
    violations: list[str] = []
    if sections and any(line.strip() for line in preamble):
        violations.append("text_before_first_section")

    order = [s.key for s in sections]
    violations += [f"missing_section:{key}" for key in expected if key not in order]
    violations += [f"duplicate_section:{key}" for key in dict.fromkeys(order) if order.count(key) > 1]
    violations += [f"unexpected_section:{key}" for key in dict.fromkeys(order) if key not in expected]
    first_seen = [key for key in dict.fromkeys(order) if key in expected]
    if first_seen != sorted(first_seen, key=expected.index):
        violations.append("sections_out_of_order")

    seen: set[str] = set()
    for section in sections:
        if section.key in seen or section.key not in expected:
            continue
        seen.add(section.key)
        if not section.text:
            violations.append(f"empty_field:{section.key}")
        elif section.key == "reasoning" and profile == "crosstrace":
            violations += _step_violations(_read_steps(section.lines))

    # The last section is one paragraph; anything after a blank line below it is trailing text.
    # (When Reasoning comes last, stray paragraphs are already reported as unnumbered lines.)
    if sections and sections[-1].key != "reasoning" and len(_paragraphs(sections[-1].lines)) > 1:
        violations.append("text_after_last_section")
    return ComplianceResult(compliant=not violations, violations=violations, profile=profile)


def _step_violations(found: _Steps) -> list[str]:
    violations = []
    if found.unnumbered or found.numbers != list(range(1, len(found.numbers) + 1)):
        violations.append("steps_not_numbered")
    if len(found.steps) < MIN_STEPS:
        violations.append(f"too_few_steps:{len(found.steps)}")
    elif len(found.steps) > MAX_STEPS:
        violations.append(f"too_many_steps:{len(found.steps)}")
    violations += [f"empty_field:step_{number}" for number, step in enumerate(found.steps, start=1) if not step]
    return violations
