"""Parse and render the released chat layout: exact round trip, strict errors, tolerant reading."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosstrace.schema import (
    Grounding,
    PriorWork,
    SchemaError,
    TraceRecord,
    chat_messages,
    check_compliance,
    parse_assistant,
    parse_chat,
    render_assistant,
    render_user,
)
from crosstrace.sources.crosstrace_release import HYPOGEN_TEST_FILE, RELEASE_FILES

SYSTEM = "You reason about science."


def roundtrip(record: TraceRecord) -> TraceRecord:
    return parse_chat(record.to_messages(), source=record.source)


# Arbitrary text, newlines and the key-prior-work separator included: rendering either refuses
# (SchemaError naming the field) or parses back to the same record.
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "a\n\nb", "x; y", "\n", "1. z"]
)
# The released layout's own texts: single lines without the separator. These always render.
line = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=60)
ref = line.filter(lambda text: "; " not in text)


@st.composite
def records(draw, text=any_text, refs=any_text):
    source = draw(st.sampled_from(["crosstrace", "hypogen"]))
    hypogen = source == "hypogen"
    return TraceRecord(
        field_context=draw(text),
        conventional_assumption=draw(text),
        key_prior_work=[] if hypogen else [PriorWork(r) for r in draw(st.lists(refs, max_size=6))],
        spark=draw(text),
        steps=[draw(text.filter(bool))] if hypogen else draw(st.lists(text, max_size=7)),
        hypothesis=draw(text),
        approach=None if hypogen else draw(text),
        source=source,
        system_prompt=draw(st.sampled_from([SYSTEM, ""])),
    )


@settings(max_examples=300, deadline=None)
@given(records())
def test_render_then_parse_is_identity_or_a_named_refusal(record):
    try:
        messages = record.to_messages()
    except SchemaError as error:
        assert error.field  # names what cannot be rendered
        return
    assert roundtrip(record) == record
    assert [m["content"] for m in roundtrip(record).to_messages()] == [m["content"] for m in messages]


@settings(max_examples=200, deadline=None)
@given(records(text=line, refs=ref))
def test_single_line_records_always_round_trip(record):
    assert roundtrip(record) == record


# Prose without digits or colons cannot look like a header or a step number to the tolerant reader.
prose = st.text(alphabet="abcdefghij ,.'()-", max_size=50)
words = prose.filter(lambda text: text.strip() != "")


@settings(max_examples=200, deadline=None)
@given(records(text=prose, refs=prose.filter(lambda text: "; " not in text)))
def test_tolerant_reader_finds_what_was_rendered(record):
    parsed = parse_assistant(render_assistant(record))
    assert (parsed.spark, parsed.hypothesis) == (record.spark.strip(), record.hypothesis.strip())
    assert parsed.approach == (None if record.approach is None else record.approach.strip())
    expected_steps = [step.strip() for step in record.steps]
    assert parsed.steps == ([s for s in expected_steps if s] if record.source == "hypogen" else expected_steps)


@settings(max_examples=200, deadline=None)
@given(records(text=words, refs=words.filter(lambda text: "; " not in text)))
def test_rendered_records_with_content_are_compliant_exactly_when_steps_are_three_to_six(record):
    result = check_compliance(render_assistant(record), record.source)
    assert result.compliant == (record.source == "hypogen" or 3 <= len(record.steps) <= 6), result.violations


@pytest.mark.shared_data
def test_every_released_record_renders_back_byte_identical(crosstrace_release):
    total = 0
    for name in [*RELEASE_FILES.values(), HYPOGEN_TEST_FILE]:
        source = "hypogen" if name == HYPOGEN_TEST_FILE else "crosstrace"
        for raw in (crosstrace_release / name).read_text(encoding="utf-8").splitlines():
            messages = json.loads(raw)["messages"]
            record = parse_chat(messages, source=source)
            assert render_user(record) == messages[1]["content"]
            assert render_assistant(record) == messages[2]["content"]
            assert record.to_messages() == messages
            total += 1
    assert total == 1389 + 50


def released_messages(
    assistant: str, user: str = "Field context: A.\n\nConventional assumption: B.\n\nKey prior work: X 2020; Y 2021"
):
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]


GOOD_ASSISTANT = "Core insight: C\n\nReasoning:\n1. s1\n2. s2\n3. s3\n\nHypothesis: H\n\nApproach: A"


def test_parse_chat_reads_every_part():
    record = parse_chat(released_messages(GOOD_ASSISTANT), paper_id="arxiv:0000.00000", domain="ai_ml")
    assert record.field_context == "A." and record.conventional_assumption == "B."
    assert record.key_prior_work == [PriorWork("X 2020"), PriorWork("Y 2021")]
    assert (record.spark, record.steps, record.hypothesis, record.approach) == ("C", ["s1", "s2", "s3"], "H", "A")
    assert (record.paper_id, record.domain, record.system_prompt) == ("arxiv:0000.00000", "ai_ml", SYSTEM)


def test_key_prior_work_section_is_optional():
    record = parse_chat(released_messages(GOOD_ASSISTANT, user="Field context: A.\n\nConventional assumption: B."))
    assert record.key_prior_work == []
    assert render_user(record) == "Field context: A.\n\nConventional assumption: B."


@pytest.mark.parametrize(
    "messages, field",
    [
        ("not a list", "messages"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "messages"),
        (
            [
                {"role": "system", "content": "s"},
                {"role": "assistant", "content": "y"},
                {"role": "user", "content": "x"},
            ],
            "messages",
        ),
        (
            [
                {"role": "system", "content": "s"},
                {"role": "user", "content": 3},
                {"role": "assistant", "content": "y"},
            ],
            "messages[1].content",
        ),
        (released_messages(GOOD_ASSISTANT, user="Context: A.\n\nConventional assumption: B."), "user.field_context"),
        (released_messages(GOOD_ASSISTANT, user="Field context: A."), "user.conventional_assumption"),
        (released_messages(GOOD_ASSISTANT.replace("2. s2", "3. s2")), "assistant.reasoning"),
        (released_messages(GOOD_ASSISTANT.replace("\n\nApproach: A", "")), "assistant"),
        (released_messages(GOOD_ASSISTANT.replace("Hypothesis:", "Claim:")), "assistant.hypothesis"),
    ],
)
def test_parse_chat_names_the_field_at_fault(messages, field):
    with pytest.raises(SchemaError) as raised:
        parse_chat(messages)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("value", "options", "field"),
    [
        ([], {}, "prompt"),
        ("text", {}, "prompt"),
        ([{"role": "user", "content": "q"}, "not a message"], {}, "prompt[1]"),
        ([{"role": "narrator", "content": "q"}], {}, "prompt[0]"),
        ([{"role": "user", "content": ["q"]}], {}, "prompt[0].content"),
        ([{"role": "user", "content": " "}], {"allow_empty": False}, "prompt[0].content"),
    ],
)
def test_chat_messages_names_the_message_at_fault(value, options, field):
    with pytest.raises(SchemaError) as raised:
        chat_messages(value, "prompt", **options)
    assert raised.value.field == field


def test_chat_messages_keeps_role_and_content_only():
    value = [{"role": "tool", "content": "", "name": "calc"}]
    assert chat_messages(value, "m", roles=None) == [{"role": "tool", "content": ""}]
    with pytest.raises(SchemaError):
        chat_messages(value, "m")  # the default roles are system, user and assistant


def test_hypogen_layout_has_a_paragraph_and_no_approach():
    assistant = "Core insight: C\n\nReasoning:\nI wondered, then I tested.\n\nHypothesis: H"
    record = parse_chat(
        released_messages(assistant, user="Field context: A.\n\nConventional assumption: B."), source="hypogen"
    )
    assert record.steps == ["I wondered, then I tested."] and record.approach is None
    assert render_assistant(record) == assistant
    with pytest.raises(SchemaError, match="approach"):
        render_assistant(TraceRecord("a", "b", [], "c", ["p"], "h", approach="x", source="hypogen"))


def test_renderer_refuses_fields_that_would_break_the_layout():
    record = parse_chat(released_messages(GOOD_ASSISTANT))
    record.steps[1] = "two\nlines"
    with pytest.raises(SchemaError) as raised:
        render_assistant(record)
    assert raised.value.field == "steps[1]"
    record.key_prior_work = [PriorWork("A; B")]
    with pytest.raises(SchemaError, match="separator"):
        render_user(record)


def test_grounding_is_looked_up_per_step():
    record = parse_chat(released_messages(GOOD_ASSISTANT))
    record.grounding = [Grounding(1, "Intro, paragraph 1: 'x'"), Grounding(3, "Methods, paragraph 2: 'y'")]
    assert record.grounding_for(3) == [Grounding(3, "Methods, paragraph 2: 'y'")]
    assert record.grounding_for(2) == []


def test_parse_assistant_tolerates_model_formatting():
    text = "Sure.\n\n**Core insight:** Fast fungi\n\n### Reasoning\n1) one\n2) two\n   continued\n\n**Hypothesis**: H1\n\nApproach:\nmeasure it"
    parsed = parse_assistant(text)
    assert parsed.spark == "Fast fungi"
    assert parsed.steps == ["one", "two continued"]
    assert (parsed.hypothesis, parsed.approach) == ("H1", "measure it")


def test_parse_assistant_returns_none_for_absent_sections_and_a_paragraph_as_one_step():
    parsed = parse_assistant("Core insight: x\n\nReasoning:\nI thought about it at length.")
    assert parsed.hypothesis is None and parsed.approach is None
    assert parsed.steps == ["I thought about it at length."]
