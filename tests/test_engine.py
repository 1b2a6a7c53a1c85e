"""The challenge engine: determinism, schema, coverage, verification, traces, shortcut audit."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from crosstrace.engine import DOMAINS, HELDOUT_DOMAINS, TRAIN_DOMAINS, generate_challenge, lexicon, verify_challenge
from crosstrace.engine.audit import shortcut_audit
from crosstrace.engine.domains import DOMAIN_SPECS
from crosstrace.engine.numbers import exact, fixed, numeric_aliases
from crosstrace.engine.spec import Numeric
from crosstrace.engine.traces import render_trace
from crosstrace.engine.verify import read_document
from crosstrace.number_words import number_words
from crosstrace.scoring.quantities import parse_quantities
from crosstrace.sources.dacr_bench import CATEGORIES, DIFFICULTIES, load_benchmark, save_benchmark

BATCH = 200


@pytest.fixture(scope="module")
def batch() -> list[dict]:
    return [generate_challenge(seed) for seed in range(BATCH)]


def _dumps(challenge: dict) -> str:
    return json.dumps(challenge, ensure_ascii=False, sort_keys=False)


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_same_bytes():
    assert _dumps(generate_challenge(123)) == _dumps(generate_challenge(123))
    assert _dumps(generate_challenge(7, "economics", n_questions=12)) == _dumps(
        generate_challenge(7, "economics", n_questions=12)
    )
    assert _dumps(generate_challenge(123)) != _dumps(generate_challenge(124))


def test_no_wall_clock_and_ids_from_seed(batch):
    challenge = batch[17]
    assert challenge["challengeId"] == "ct-engine-17"
    assert challenge["source"] == {"type": "engine", "domain": challenge["document"]["domain"], "seed": "17"}
    assert challenge["metadata"]["generatedAt"] is None


# --- schema -----------------------------------------------------------------------------------------


def _check_schema(challenge: dict) -> None:
    assert list(challenge) == [
        "challengeId",
        "version",
        "source",
        "split",
        "document",
        "facts",
        "traps",
        "questions",
        "metadata",
    ]
    assert challenge["split"] == "synthetic" and challenge["version"] == "1.1"
    document = challenge["document"]
    text = document["text"]
    paragraphs = text.split("\n\n")
    assert document["paragraphCount"] == len(paragraphs)
    assert document["wordCount"] == len(text.split())
    assert document["domain"] in DOMAINS and document["sections"]
    fact_ids = set()
    for fact in challenge["facts"]:
        assert set(fact) == {"factId", "entity", "attribute", "value", "valueType", "location"}
        assert fact["valueType"] in ("numerical", "categorical", "relational")
        assert isinstance(fact["value"], (int, float)) == (fact["valueType"] == "numerical")
        location = fact["location"]
        assert location["section"] in document["sections"]
        assert location["contextQuote"] in paragraphs[location["paragraphIndex"]]
        fact_ids.add(fact["factId"])
    assert len(fact_ids) == len(challenge["facts"])
    trap_ids = set()
    for trap in challenge["traps"]:
        assert set(trap) == {"trapId", "targetFactId", "correctValue", "wrongValue", "trapLocation"}
        assert trap["targetFactId"] in fact_ids and trap["correctValue"] != trap["wrongValue"]
        assert trap["trapLocation"]["injectedText"] in paragraphs[trap["trapLocation"]["paragraphIndex"]]
        trap_ids.add(trap["trapId"])
    targeted = set()
    for number, question in enumerate(challenge["questions"], start=1):
        assert set(question) == {
            "questionId",
            "text",
            "category",
            "hops",
            "targetsTrap",
            "goldAnswer",
            "goldAnswerAliases",
            "reasoningChain",
            "difficulty",
        }
        assert question["questionId"] == f"q{number:02d}"
        assert question["category"] in CATEGORIES and question["difficulty"] in DIFFICULTIES
        assert 1 <= question["hops"] <= 6
        assert isinstance(question["goldAnswer"], str) and question["goldAnswer"]
        assert question["goldAnswer"] not in question["goldAnswerAliases"]
        assert (question["category"] == "trap_targeted") == (question["targetsTrap"] is not None)
        chain = question["reasoningChain"]
        assert [s["step"] for s in chain] == list(range(1, len(chain) + 1))
        assert chain[-1] == {"step": len(chain), "action": "answer", "result": question["goldAnswer"]}
        for step in chain:
            assert set(step.get("factIds", [])) <= fact_ids
            assert all(0 < p < len(paragraphs) for p in step.get("paragraphs", []))
        targeted.add(question["targetsTrap"])
    assert trap_ids <= targeted, "every trap is targeted by a question"


def test_every_generated_challenge_has_the_dacr_schema(batch, tmp_path):
    for challenge in batch:
        _check_schema(challenge)
    # The project's own reader (and so evaluate.py) reads them back unchanged, with no defect.
    path = save_benchmark(tmp_path / "engine.json", batch[:20], name="t", description="t")
    bench = load_benchmark(path)
    assert bench.challenges == batch[:20] and bench.defects == []


def test_all_categories_hop_depths_and_difficulties_occur_in_200(batch):
    questions = [q for c in batch for q in c["questions"]]
    assert set(Counter(q["category"] for q in questions)) == set(CATEGORIES)
    assert set(Counter(q["hops"] for q in questions)) == {1, 2, 3, 4, 5, 6}
    assert set(Counter(q["difficulty"] for q in questions)) == set(DIFFICULTIES)
    assert {c["source"]["domain"] for c in batch} == set(DOMAINS)


def test_documents_are_paper_like(batch):
    lengths = [len(c["document"]["text"]) for c in batch]
    assert min(lengths) >= 12_000 and max(lengths) <= 20_000
    for challenge in batch[:20]:
        text = challenge["document"]["text"]
        assert len(challenge["document"]["sections"]) == 6
        # Some facts live only in tables rendered as text.
        assert re.search(r"^(## [^\n]*\n)?\[P\d+\] Table 1\.", text, re.MULTILINE) and re.search(
            r"\[P\d+\] Table S1\.", text
        )
        table_only = [f for f in challenge["facts"] if f["location"]["contextQuote"].startswith("| ")]
        assert table_only and all(
            f["factId"] not in {t["targetFactId"] for t in challenge["traps"]} for f in table_only
        )


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_generates_at_the_entity_extremes(domain):
    for n_entities in (5, 12):
        challenge = generate_challenge(11, domain, n_entities=n_entities, n_traps=3)
        assert len({f["entity"] for f in challenge["facts"]}) == n_entities
        assert len(challenge["traps"]) == 3


def test_options_are_checked():
    with pytest.raises(ValueError, match="unknown domain"):
        generate_challenge(1, "alchemy")
    with pytest.raises(ValueError, match="n_entities"):
        generate_challenge(1, "physics", n_entities=40)


def test_domain_libraries_are_rich_enough():
    assert len(DOMAINS) >= 8 and set(HELDOUT_DOMAINS) <= set(DOMAINS) and not set(HELDOUT_DOMAINS) & set(TRAIN_DOMAINS)
    for domain in DOMAIN_SPECS.values():
        assert len(domain.numerics) + len(domain.categoricals) >= 8
        assert all(len(c.values) >= 2 for c in domain.categoricals)
        vocabularies = [v for c in domain.categoricals for v in c.values]
        assert len(vocabularies) == len(set(vocabularies)), f"{domain.name}: a value belongs to two attributes"
        labels = [a.label for a in (*domain.numerics, *domain.categoricals)]
        assert len(labels) == len(set(labels))


# --- wording -------------------------------------------------------------------------------------


def _cue_free_texts() -> list[str]:
    texts = [
        *lexicon.NUMERIC_PHRASES,
        *lexicon.NEUTRAL_ONE,
        *lexicon.NEUTRAL_TWO,
        *lexicon.NEUTRAL_THREE,
        *lexicon.CONTINUATION,
    ]
    texts += [
        *lexicon.ENTITY_LIST,
        *lexicon.TABLE_CAPTIONS,
        *lexicon.ABSTRACT_OPENERS,
        *lexicon.ABSTRACT_CLOSERS,
        *lexicon.GENERIC_FILLER,
        *lexicon.GENERIC_COMMENTARY,
        *lexicon.SUPPLEMENT_INTRO,
    ]
    for domain in DOMAIN_SPECS.values():
        texts += [
            domain.field_name,
            domain.kind,
            domain.kinds,
            *domain.titles,
            *domain.background,
            *domain.protocol,
            *domain.commentary,
            *domain.discussion,
        ]
        for attribute in domain.numerics:
            texts += [attribute.label, attribute.unit, attribute.method, *attribute.phrasings]
        for attribute in domain.categoricals:
            texts += [attribute.label, *attribute.values, *attribute.phrasings]
        texts += [*domain.relation.phrasings, domain.relation.label]
    return texts


def test_neutral_wording_carries_no_authority_cue():
    offenders = [t for t in _cue_free_texts() if lexicon.has_cue(t)]
    assert offenders == []


def test_cue_frames_carry_the_cue_they_claim():
    provisional = (
        *lexicon.PROVISIONAL_NUMERIC,
        *lexicon.PROVISIONAL_NUMERIC_BEFORE,
        *lexicon.PROVISIONAL_CATEGORICAL,
        *lexicon.PROVISIONAL_CATEGORICAL_BEFORE,
    )
    authoritative = (
        *lexicon.AUTHORITATIVE_NUMERIC,
        *lexicon.AUTHORITATIVE_NUMERIC_AFTER,
        *lexicon.AUTHORITATIVE_CATEGORICAL,
        *lexicon.AUTHORITATIVE_CATEGORICAL_AFTER,
    )
    for frame in provisional:
        assert lexicon.PROVISIONAL_RE.search(frame) and not lexicon.AUTHORITATIVE_RE.search(frame), frame
    for frame in authoritative:
        assert lexicon.AUTHORITATIVE_RE.search(frame) and not lexicon.PROVISIONAL_RE.search(frame), frame
    # "uncorrected" is provisional even though it contains "corrected".
    assert not lexicon.AUTHORITATIVE_RE.search("uncorrected data")


def test_hedged_wording_also_appears_on_facts_without_conflict(batch):
    hedged_plain = 0
    for challenge in batch[:30]:
        trapped = {t["targetFactId"] for t in challenge["traps"]}
        read = read_document(challenge["document"]["text"], challenge["source"]["domain"])
        facts = {(f["entity"], f["attribute"]): f["factId"] for f in challenge["facts"]}
        hedged_plain += sum(
            r.status == "provisional" and facts[(r.entity, r.attribute)] not in trapped for r in read.readings
        )
    assert hedged_plain > 30


# --- verification ---------------------------------------------------------------------------------


def test_generated_challenges_pass_verification(batch):
    for challenge in batch[:40]:
        assert verify_challenge(challenge) == []


def _corrupt_fact(challenge: dict, numeric: bool) -> dict:
    """A copy of the challenge whose text states one fact differently (fact list unchanged)."""
    corrupted = json.loads(json.dumps(challenge))
    domain = DOMAIN_SPECS[challenge["source"]["domain"]]
    trapped = {t["targetFactId"] for t in challenge["traps"]}
    for fact in corrupted["facts"]:
        if (
            fact["factId"] in trapped
            or (fact["valueType"] == "numerical") != numeric
            or fact["valueType"] == "relational"
        ):
            continue
        attribute = domain.attribute(fact["attribute"])
        quote = fact["location"]["contextQuote"]
        if numeric:
            assert isinstance(attribute, Numeric)
            written = fixed(exact(str(fact["value"])), attribute.decimals, attribute.grouping)
            changed = fixed(exact(str(fact["value"])) + 1, attribute.decimals, attribute.grouping)
        else:
            written = fact["value"]
            changed = next(v for v in attribute.values if v != written)
        if quote.count(written) != 1 or challenge["document"]["text"].count(quote) != 1:
            continue
        corrupted["document"]["text"] = corrupted["document"]["text"].replace(quote, quote.replace(written, changed))
        return corrupted
    raise AssertionError("no fact to corrupt")


@pytest.mark.parametrize("numeric", [True, False])
def test_verifier_catches_a_fact_changed_in_the_text(batch, numeric):
    for challenge in batch[:10]:
        corrupted = _corrupt_fact(challenge, numeric)
        assert corrupted["document"]["text"] != challenge["document"]["text"]
        problems = verify_challenge(corrupted)
        assert any("text says" in p or "not stated" in p for p in problems), problems


def test_verifier_catches_a_wrong_gold_answer_and_a_broken_trap(batch):
    challenge = json.loads(json.dumps(batch[3]))
    challenge["questions"][0]["goldAnswer"] = "something else"
    assert any("differs from gold" in p for p in verify_challenge(challenge))
    challenge = json.loads(json.dumps(batch[3]))
    trap = challenge["traps"][0]
    trap["wrongValue"] = trap["correctValue"]
    problems = verify_challenge(challenge)
    assert any("wrong value equals the correct value" in p for p in problems)
    # The trap's provisional statement removed from the text: no conflict left to resolve.
    challenge = json.loads(json.dumps(batch[3]))
    injected = challenge["traps"][0]["trapLocation"]["injectedText"]
    challenge["document"]["text"] = challenge["document"]["text"].replace(injected, "")
    assert any("no resolvable conflict" in p or "injected text not found" in p for p in verify_challenge(challenge))


def test_rejected_attempts_are_counted():
    # Any challenge records how many drawn attempts verification rejected, and why.
    challenge = generate_challenge(5)
    assert challenge["metadata"]["rejectedAttempts"] == len(challenge["metadata"]["rejections"])


# --- traces ---------------------------------------------------------------------------------------------


def _final_answers(trace: str) -> dict:
    return json.loads(trace[trace.rindex("\n{") + 1 :])


def test_trace_answers_equal_gold_answers(batch):
    for challenge in batch[:60]:
        trace = render_trace(challenge)
        answers = _final_answers(trace)
        assert list(answers) == [q["questionId"] for q in challenge["questions"]]
        for question in challenge["questions"]:
            entry = answers[question["questionId"]]
            assert entry["answer"] == question["goldAnswer"]
            assert set(entry) == {"answer", "citation", "confidence"} and 0 < entry["confidence"] <= 1
            assert f"Answer: {question['goldAnswer']}" in trace


def test_traces_cite_paragraphs_and_reject_trap_values_by_their_wording(batch):
    challenge = next(c for c in batch if len(c["traps"]) >= 2)
    trace = render_trace(challenge)
    assert re.search(r"\[P\d+\]", trace)
    for trap in challenge["traps"]:
        question = next(q for q in challenge["questions"] if q["targetsTrap"] == trap["trapId"])
        block = trace[trace.index(f"{question['questionId']}: ") :].split("\n\n")[0]
        assert "Conflict for the" in block and "provisional" in block and "I reject" in block
    assert "Compute: " in "".join(render_trace(c) for c in batch[:10])


def test_number_helpers():
    assert (
        fixed(exact("2.675"), 2) == "2.68"
        and fixed(exact("-0.004"), 2) == "0.00"
        and fixed(exact("41200"), 0, grouping=True) == "41,200"
    )
    assert number_words(42) == "forty-two" and number_words(105) == "one hundred and five"
    assert {"41,200", "41200 photons/MeV"} <= set(numeric_aliases("41200", ("photons/MeV",)))
    assert "seven" in numeric_aliases("7")


def test_the_scorer_reads_back_every_number_the_engine_spells():
    # One table of number words serves both sides, so every spelt number scores as its value.
    for n in range(1000):
        assert [q.value for q in parse_quantities(f"about {number_words(n)} samples")] == [n], n


# --- shortcut audit -------------------------------------------------------------------------------------


def test_position_and_frequency_are_no_shortcut(batch):
    rows = {row["heuristic"]: row for row in shortcut_audit(batch)}
    for name in (
        "first mentioned of the two conflicting values",
        "last mentioned of the two conflicting values",
        "the conflicting value stated more often",
    ):
        assert rows[name]["n"] >= 300
        assert 0.40 <= rows[name]["accuracy"] <= 0.60, (name, rows[name])
    assert rows["the authority wording (the skill being taught)"]["accuracy"] == 1.0
    confirm, first = rows["the value nearest a confirming word"], rows["the first value of the asked attribute"]
    # Confirming words sit on conflict-free facts at random: no better than the first value, within noise.
    assert confirm["accuracy"] <= first["accuracy"] + 0.05
