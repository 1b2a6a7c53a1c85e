"""Blind baselines: scored by hand on made-up questions, with a fake embedder where embeddings matter."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from crosstrace.mcq import audit
from crosstrace.mcq.record import LETTERS


def question(text: str, options: list[str], answer: str, source: str = "test/gen") -> dict:
    return {
        "id": text,
        "source": source,
        "question": text,
        "options": dict(zip(LETTERS, options, strict=True)),
        "answer": answer,
    }


def test_ties_share_the_point():
    assert audit.tie_credit([1, 3, 3, 0], 1) == 0.5
    assert audit.tie_credit([1, 3, 3, 0], 0) == 0.0
    assert audit.tie_credit([5] * 10, 4) == pytest.approx(0.1)


def test_longest_and_word_overlap_pick_what_they_should():
    options = ["short", "a much longer option than the others", *(f"opt{k}" for k in range(8))]
    telling = question("Which fluorescent protein glows green?", ["fluorescent protein", *options[1:]], "A")
    assert audit.tie_credit(audit.overlap_scores(telling), 0) == 1.0  # shares two content words
    assert audit.tie_credit(audit.longest_scores(telling), 1) == 1.0
    # Stop words do not count as overlap.
    assert audit.content_words("Which of the following is the answer") == {"following", "answer"}


def fake_embed(texts):
    """Deterministic vectors: texts sharing a first word point the same way."""
    vectors = []
    for text in texts:
        rng = np.random.default_rng(zlib.crc32(text.split()[0].lower().encode()))
        vector = rng.normal(size=16) + 0.05 * np.random.default_rng(len(text)).normal(size=16)
        vectors.append(vector / np.linalg.norm(vector))
    return np.array(vectors, dtype=np.float32)


def test_embedding_baselines_find_an_answer_that_looks_like_the_question():
    record = question(
        "Granite weathers slowly\nGranite is hard", ["Granite erodes", *(f"w{k} unrelated" for k in range(9))], "A"
    )
    overall, by_source = audit.audit_baselines([record], fake_embed)
    assert overall.accuracy["embedding"] == 1.0
    assert set(overall.accuracy) == set(audit.BASELINES) and by_source["test/gen"].n["embedding"] == 1


def test_central_option_finds_distractors_gathered_around_the_answer():
    # Each distractor is the answer plus a direction of its own: the answer is the centre.
    basis = np.eye(10, dtype=np.float32)
    vectors = {"hub": basis[0], **{f"spoke {k}": (basis[0] + basis[k + 1]) / np.sqrt(2) for k in range(9)}}

    def embed(texts):
        return np.stack([vectors.get(text, basis[9]) for text in texts])

    record = question("a question", ["hub", *(f"spoke {k}" for k in range(9))], "A")
    overall, _ = audit.audit_baselines([record], embed)
    assert overall.accuracy["central_option"] == 1.0


def test_sampling_limits_the_embedding_baselines_only():
    records = [question(f"q{i} text", [f"o{i}{k} x" for k in range(10)], LETTERS[i % 10]) for i in range(30)]
    overall, _ = audit.audit_baselines(records, fake_embed, embedding_sample=7, seed=1)
    assert overall.n == {"longest": 30, "word_overlap": 30, "embedding": 7, "central_option": 7}
    no_embedding, _ = audit.audit_baselines(records, None)
    assert set(no_embedding.accuracy) == {"longest", "word_overlap"}
    table = audit.audit_table({"cfg": overall, "plain": no_embedding})
    assert "(n=7: " in table and "not run" in table


def test_letter_balance_flags_a_skewed_answer_key():
    balanced = [question(str(i), [f"{i}{k}" for k in range(10)], LETTERS[i % 10]) for i in range(100)]
    skewed = [question(str(i), [f"{i}{k}" for k in range(10)], "A" if i % 2 else LETTERS[i % 10]) for i in range(100)]
    assert audit.letter_balance(balanced).p_value > 0.99
    assert audit.letter_balance(skewed).p_value < 0.001
    result = audit.BaselineResult(accuracy={"longest": 0.31}, n={"longest": 10})
    assert not result.passes() and result.passes(target=0.35)
