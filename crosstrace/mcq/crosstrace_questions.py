"""Questions made from CrossTrace records: hypothesis matching and reasoning order.

Both work on rows of the CrossTrace dataset (columns `id`, `source`, `domain`, `paper_id`,
`field_context`, `conventional_assumption`, `steps`, `hypothesis`, ...), one split at a time,
so a question and all its options come from the same split.

**Hypothesis matching** (`<source>/hypothesis_matching`). Studies of one split and one field
are put in groups of ten whose hypotheses are near each other by all-MiniLM-L6-v2 embedding
(hard distractors), no two of them near-duplicates (cosine above `NEAR_DUPLICATE_THRESHOLD`)
or from one paper. A question shows the field context and conventional assumption of the ten
studies of its group, numbered in a random order, and asks which hypothesis study k proposed;
the options are the ten hypotheses. Every study of the group is asked about once, with the same
ten options.

Both choices are there to keep blind guessing at chance. Asked about one study alone, the
right hypothesis shares that study's vocabulary: the option most similar to the question (by
words or by embedding) is the answer about nine times in ten (bench/bench_mcq.py measures it).
And nine distractors chosen as the nearest to one answer make that answer the centre of the
options, which an embedding of the options alone finds. In a group asked about in turn, each
option is the answer exactly once, so nothing computed from the options and the shown texts can
beat chance; only reading which study is asked about tells the options apart.

**Reasoning order** (`crosstrace/reasoning_order`, our own design). A paper's reasoning steps
are shown in a random order, numbered, between its starting point (field context, conventional
assumption) and its hypothesis; the options are ten orderings written as step numbers
("3, 1, 4, 2"), one of them the paper's. Records with fewer than four steps are skipped
(three steps have only six orderings). The distractors are drawn uniformly from the other
orderings, never the shown order: drawing them near the right one (one swap away) would make
the right answer the centre of the options, a tell of its own.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from crosstrace.mcq.labels import labels_for
from crosstrace.mcq.options import Draft, rng_for
from crosstrace.mcq.record import NUM_OPTIONS

# Cosine similarity (all-MiniLM-L6-v2) above which two hypotheses count as saying the same
# thing. Measured on the release: a CrossTrace hypothesis's nearest neighbour in its own split
# and field sits at a median 0.39-0.50, 99th percentile 0.65-0.85; the six train pairs above
# 0.85 (0.852-0.881) restate one finding (e.g. two papers on Omicron escaping antibodies).
# The manifest counts such pairs; no question shows both.
NEAR_DUPLICATE_THRESHOLD = 0.85
MIN_ORDER_STEPS = 4
NUM_DISTRACTORS = NUM_OPTIONS - 1

HYPOTHESIS_MATCHING = "hypothesis_matching"
REASONING_ORDER = "reasoning_order"


def study_block(number: int, record: dict[str, Any]) -> str:
    return f"Study {number}\nField context: {record['field_context']}\nConventional assumption: {record['conventional_assumption']}"


def hypothesis_question(studies: Sequence[dict[str, Any]], asked: int) -> str:
    """The question text: the numbered studies, then which hypothesis study `asked` (1-based) proposed."""
    blocks = [study_block(number, record) for number, record in enumerate(studies, start=1)]
    return "\n\n".join(
        [
            f"The {len(studies)} studies below come from the same field. Each is described by the state of its "
            "field and the conventional assumption it set out to challenge.",
            *blocks,
            f"Which of the following hypotheses did Study {asked} propose?",
        ]
    )


def same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def _compatible(
    candidate: int, members: Sequence[int], records: Sequence[dict[str, Any]], vectors: np.ndarray, threshold: float
) -> bool:
    """Whether `candidate` can join `members`: no near-duplicate hypothesis, no shared paper, no equal text."""
    for member in members:
        paper = records[member]["paper_id"]
        if paper and records[candidate]["paper_id"] == paper:
            return False
        if same_text(records[candidate]["hypothesis"], records[member]["hypothesis"]):
            return False
        if float(vectors[candidate] @ vectors[member]) > threshold:
            return False
    return True


def study_groups(
    pool: Sequence[int], records: Sequence[dict[str, Any]], vectors: np.ndarray, seed: int, threshold: float
) -> tuple[list[tuple[list[int], list[int]]], Counter]:
    """Groups of ten studies from one pool (one split, one field), and who is asked about in each.

    Every study is asked about in exactly one group. A group starts from the next study not yet
    asked about (in a seeded order) and takes its nearest compatible neighbours among the studies
    not yet asked about; when too few are left, it is completed with the nearest studies already
    asked about elsewhere, which are then shown but not asked about again.
    """
    notes: Counter = Counter()
    pool_vectors = vectors[list(pool)]
    near_pairs = int((np.triu(pool_vectors @ pool_vectors.T, k=1) > threshold).sum())
    if near_pairs:
        notes["near-duplicate hypothesis pairs, never shown together"] += near_pairs
    order = sorted(pool, key=lambda i: records[i]["id"])
    rng_for(seed, "study-groups", records[order[0]]["id"]).shuffle(order)  # a pool is named by its first id
    asked: set[int] = set()
    groups = []
    for start in order:
        if start in asked:
            continue
        similarity = {other: round(float(vectors[start] @ vectors[other]), 6) for other in pool if other != start}
        by_nearness = sorted(similarity, key=lambda other: (-similarity[other], records[other]["id"]))
        members = [start]
        # Not-yet-asked studies first, then fillers from earlier groups, each list nearest first.
        for candidate in [o for o in by_nearness if o not in asked] + [o for o in by_nearness if o in asked]:
            if len(members) == NUM_OPTIONS:
                break
            if _compatible(candidate, members, records, vectors, threshold):
                members.append(candidate)
        if len(members) < NUM_OPTIONS:
            notes[f"skipped: fewer than {NUM_OPTIONS} compatible studies in the {records[start]['domain']} pool"] += 1
            asked.add(start)
            continue
        newly_asked = [member for member in members if member not in asked]
        asked.update(newly_asked)
        groups.append((members, newly_asked))
    return groups, notes


def hypothesis_matching_drafts(
    records: Sequence[dict[str, Any]], vectors: np.ndarray, seed: int, threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> tuple[list[Draft], Counter]:
    """One question per record of one split; `vectors[i]` is the unit embedding of `records[i]['hypothesis']`.

    Returns the drafts and a Counter of what was skipped or kept apart, by reason.
    """
    notes: Counter = Counter()
    pools: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        pools.setdefault(record["domain"], []).append(index)
    drafts = []
    for domain in sorted(pools):
        groups, group_notes = study_groups(pools[domain], records, vectors, seed, threshold)
        notes.update(group_notes)
        for members, asked in groups:
            for index in asked:
                record = records[index]
                studies = list(members)
                rng_for(seed, HYPOTHESIS_MATCHING, record["id"]).shuffle(studies)
                drafts.append(
                    Draft(
                        id=f"{HYPOTHESIS_MATCHING}/{record['id']}",
                        source=f"{record['source']}/{HYPOTHESIS_MATCHING}",
                        question=hypothesis_question([records[i] for i in studies], studies.index(index) + 1),
                        correct=record["hypothesis"],
                        distractors=tuple(records[i]["hypothesis"] for i in members if i != index),
                        labels=labels_for("crosstrace", record["domain"]),
                        paper_id=record["paper_id"],
                    )
                )
    return drafts, notes


def order_text(order: Sequence[int]) -> str:
    return ", ".join(str(number) for number in order)


def reasoning_order_question(record: dict[str, Any], shown: Sequence[str]) -> str:
    steps = "\n".join(f"[{number}] {step}" for number, step in enumerate(shown, start=1))
    return "\n\n".join(
        [
            "The reasoning of a study is given below: where it started, the hypothesis it reached, and its "
            "reasoning steps in a shuffled order.",
            f"Field context: {record['field_context']}\nConventional assumption: {record['conventional_assumption']}",
            f"Hypothesis: {record['hypothesis']}",
            f"Shuffled reasoning steps:\n{steps}",
            "In which order do the numbered steps lead from the conventional assumption to the hypothesis?",
        ]
    )


def reasoning_order_draft(record: dict[str, Any], seed: int) -> Draft:
    """The question for one record with at least `MIN_ORDER_STEPS` distinct steps."""
    steps = list(record["steps"])
    n = len(steps)
    rng = rng_for(seed, REASONING_ORDER, record["id"])
    identity = tuple(range(n))
    shown_order = identity
    while shown_order == identity:  # the shown order is never already the right one
        shown_order = tuple(rng.sample(range(n), n))
    # shown_order[p] = original position of the step shown at p. The answer lists, for each
    # original position, the number the step was shown under.
    shown_number = {original: position + 1 for position, original in enumerate(shown_order)}
    correct = tuple(shown_number[original] for original in range(n))
    shown_as_is = tuple(range(1, n + 1))
    others = [order for order in itertools.permutations(range(1, n + 1)) if order not in (correct, shown_as_is)]
    distractors = rng.sample(others, NUM_DISTRACTORS)
    return Draft(
        id=f"{REASONING_ORDER}/{record['id']}",
        source=f"{record['source']}/{REASONING_ORDER}",
        question=reasoning_order_question(record, [steps[original] for original in shown_order]),
        correct=order_text(correct),
        distractors=tuple(order_text(order) for order in distractors),
        labels=labels_for("crosstrace", record["domain"]),
        paper_id=record["paper_id"],
    )


def reasoning_order_drafts(records: Sequence[dict[str, Any]], seed: int) -> tuple[list[Draft], Counter]:
    notes: Counter = Counter()
    drafts = []
    for record in records:
        steps = list(record["steps"] or [])
        if len(steps) < MIN_ORDER_STEPS:
            notes[f"skipped: fewer than {MIN_ORDER_STEPS} reasoning steps"] += 1
        elif len({" ".join(step.split()).lower() for step in steps}) != len(steps):
            notes["skipped: two reasoning steps are the same text"] += 1
        else:
            drafts.append(reasoning_order_draft(record, seed))
    return drafts, notes
