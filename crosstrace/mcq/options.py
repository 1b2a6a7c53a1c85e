"""From a drafted question (text, right answer, nine distractors) to a lettered record.

Generators only decide *what* the options are; this module decides *where* they go. The
right answer's letter is balanced over A-J within each split (every letter is used
floor(n/10) or ceil(n/10) times, in a seeded random order), and the distractors fill the other
nine slots in a seeded random order. Every random choice comes from `rng_for(seed, *keys)`,
a generator derived from the build seed and the question's own id, so a question's letters do
not depend on which other questions were built alongside it, nor on the order they were made.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crosstrace.mcq.labels import Labels
from crosstrace.mcq.record import LETTERS, NUM_OPTIONS, record_problems


def rng_for(seed: int, *keys: object) -> random.Random:
    """A random generator determined by the seed and the keys alone (stable across runs and platforms)."""
    digest = hashlib.sha256(repr((seed, *keys)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Draft:
    """A question before its options are lettered."""

    id: str
    source: str  # the generator, e.g. "crosstrace/hypothesis_matching"
    question: str
    correct: str
    distractors: tuple[str, ...]  # exactly nine, all different from each other and from `correct`
    labels: Labels
    paper_id: str | None = None

    def __post_init__(self) -> None:
        if len(self.distractors) != NUM_OPTIONS - 1:
            raise ValueError(f"{self.id}: expected {NUM_OPTIONS - 1} distractors, got {len(self.distractors)}")


def balanced_letters(n: int, rng: random.Random) -> list[str]:
    """n answer letters, each letter used floor(n/10) or ceil(n/10) times, in random order."""
    letters = [LETTERS[i % NUM_OPTIONS] for i in range(n)]
    # Which letters get the extra use when n is not a multiple of ten is itself random.
    leftover = n % NUM_OPTIONS
    if leftover:
        extra = rng.sample(LETTERS, leftover)
        letters = letters[: n - leftover] + extra
    rng.shuffle(letters)
    return letters


def letter_options(draft: Draft, answer: str, seed: int) -> dict[str, Any]:
    """The record for `draft` with its right answer at `answer` (a letter)."""
    distractors = list(draft.distractors)
    rng_for(seed, "distractor-order", draft.id).shuffle(distractors)
    slots = [letter for letter in LETTERS if letter != answer]
    options = dict(zip(slots, distractors, strict=True))
    options[answer] = draft.correct
    record = {
        "id": draft.id,
        "source": draft.source,
        "question": draft.question,
        "options": {letter: options[letter] for letter in LETTERS},
        "answer": answer,
        "paper_id": draft.paper_id,
        "discipline": draft.labels.discipline,
        "nc_domain": draft.labels.nc_domain,
        "nc_subdomain": draft.labels.nc_subdomain,
        # Nobody voted on generated questions: null, never invented.
        "voting_type": None,
        "voting_answers": None,
    }
    problems = record_problems(record)
    if problems:  # a generator bug, not bad input: stop the build
        raise ValueError(f"generated question {draft.id} is invalid: {'; '.join(problems)}")
    return record


def assemble(drafts: Sequence[Draft], seed: int, scope: str) -> list[dict[str, Any]]:
    """Records for one split of one config, sorted by id, answer letters balanced over A-J.

    `scope` (e.g. "engine_facts/test") keeps the letter sequences of different splits independent.
    """
    ordered = sorted(drafts, key=lambda draft: draft.id)
    ids = [draft.id for draft in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{scope}: duplicate question ids")
    letters = balanced_letters(len(ordered), rng_for(seed, "answer-letters", scope))
    return [letter_options(draft, letter, seed) for draft, letter in zip(ordered, letters, strict=True)]
