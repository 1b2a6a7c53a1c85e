"""Questions over engine challenges: answers checked against the challenge's facts."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from crosstrace.engine import DOMAINS, generate_challenge
from crosstrace.engine.numbers import exact
from crosstrace.mcq import labels
from crosstrace.mcq.engine_questions import (
    ENTITIES_PER_CHALLENGE,
    ChallengeFacts,
    assign_splits,
    challenge_drafts,
    engine_drafts,
)
from crosstrace.mcq.options import assemble
from crosstrace.mcq.record import record_problems


@pytest.fixture(scope="module")
def challenges():
    return [
        generate_challenge(seed, DOMAINS[seed % len(DOMAINS)], n_entities=ENTITIES_PER_CHALLENGE) for seed in range(6)
    ]


def test_every_domain_has_discipline_labels():
    assert set(DOMAINS) <= set(labels.ENGINE_DOMAINS)
    for domain in DOMAINS:
        assert all(labels.labels_for("engine", domain).__dict__.values())
    with pytest.raises(KeyError, match=r"crosstrace/mcq/labels\.py"):
        labels.labels_for("engine", "alchemy")


def test_every_excerpt_names_its_entity(challenges):
    for challenge in challenges:
        facts = ChallengeFacts(challenge)
        for entity, key in facts.facts:
            assert entity in facts.excerpt(entity, key), (challenge["challengeId"], entity, key)


def test_questions_are_valid_and_quote_every_option(challenges):
    sources = Counter()
    for challenge in challenges:
        drafts, _ = challenge_drafts(challenge, seed=0)
        for record in assemble(drafts, seed=0, scope="e/train"):
            assert record_problems(record) == []
            assert record["paper_id"] == challenge["challengeId"]
            for option in record["options"].values():
                assert option in record["question"]
            sources[record["source"]] += 1
    assert set(sources) == {"engine/value_lookup", "engine/extreme_entity", "engine/trap_value"}


def _facts_by_entity(challenge, attribute):
    return {f["entity"]: f for f in challenge["facts"] if f["attribute"] == attribute}


def test_value_lookup_answers_the_asked_entitys_value(challenges):
    for challenge in challenges:
        facts = ChallengeFacts(challenge)
        for draft in challenge_drafts(challenge, seed=0)[0]:
            if draft.source != "engine/value_lookup":
                continue
            attribute = draft.id.rsplit("/", 1)[1]
            entity = re.search(r" of (.+)\?$", draft.question).group(1)
            assert draft.correct == facts.written(attribute, _facts_by_entity(challenge, attribute)[entity]["value"])


def test_extreme_entity_answers_the_extreme_among_the_ten(challenges):
    for challenge in challenges:
        for draft in challenge_drafts(challenge, seed=0)[0]:
            if draft.source != "engine/extreme_entity":
                continue
            attribute = draft.id.rsplit("/", 1)[1]
            values = {
                e: exact(f["value"])
                for e, f in _facts_by_entity(challenge, attribute).items()
                if e in {draft.correct, *draft.distractors}
            }
            assert len(values) == 10
            spec = ChallengeFacts(challenge).numerics[attribute]
            wanted = max if f"the {spec.most} " in draft.question else min
            assert draft.correct == wanted(values, key=values.get)


def test_trap_questions_offer_the_wrong_value_and_ask_for_the_confirmed_one(challenges):
    seen = 0
    for challenge in challenges:
        facts = ChallengeFacts(challenge)
        traps = {t["trapId"]: t for t in challenge["traps"]}
        for draft in challenge_drafts(challenge, seed=0)[0]:
            if draft.source != "engine/trap_value":
                continue
            trap = traps[draft.id.rsplit("/", 1)[1]]
            attribute = next(f["attribute"] for f in challenge["facts"] if f["factId"] == trap["targetFactId"])
            assert draft.correct == facts.written(attribute, trap["correctValue"])
            assert facts.written(attribute, trap["wrongValue"]) in draft.distractors
            assert trap["trapLocation"]["injectedText"] in draft.question and "confirmed" in draft.question
            seen += 1
    assert seen > 0


def test_splits_are_by_challenge_and_seeded():
    splits = assign_splits(200, seed=0)
    assert Counter(splits) == {"train": 170, "validation": 15, "test": 15}
    assert splits == assign_splits(200, seed=0) and splits != assign_splits(200, seed=1)


def test_no_challenge_feeds_two_splits():
    drafts, _, description = engine_drafts(8, first_seed=100, seed=0)
    papers = {split: {d.paper_id for d in split_drafts} for split, split_drafts in drafts.items()}
    assert sum(len(p) for p in papers.values()) == len(set().union(*papers.values())) == 8
    assert description["challenges"] == 8 and sum(description["challenges_per_split"].values()) == 8
