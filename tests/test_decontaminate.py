"""The n-gram overlap report: a copied evaluation record is flagged by id; text every record shares
(system prompt, template wording) is not, and cannot join content into a match."""

from __future__ import annotations

import random

from crosstrace.decontaminate import TextSet, markdown_table, report

SYSTEM = "you are a careful assistant who reads every line of the question before giving the final answer now"
# A sentence template whose slots vary; its fixed words run straight into each record's content.
TEMPLATE = "according to the measurements reported for sample {slot} the observed value of the main quantity was"


def _content(rng: random.Random, words: int) -> str:
    return " ".join(f"w{rng.randrange(10**9)}" for _ in range(words))


def _set(name: str, records: dict[str, str], rng: random.Random) -> TextSet:
    """Each record: the shared system prompt as its own field, then the template running into its content."""
    fields = [[SYSTEM, f"{TEMPLATE.format(slot=rng.randrange(100))} {text}"] for text in records.values()]
    return TextSet(name, "messages", list(records), fields)


def _pair(training: dict[str, str], evaluation: dict[str, str]) -> dict:
    rng = random.Random(0)
    result = report([_set("train", training, rng)], [_set("test", evaluation, rng)], {})
    (pair,) = result["pairs"]
    return pair | {"table": markdown_table(result)}


def _filler(prefix: str, count: int) -> dict[str, str]:
    rng = random.Random(prefix)
    return {f"{prefix}{i}": _content(rng, 30) for i in range(count)}


def test_a_copied_record_is_flagged_by_id_with_the_training_row_it_matches():
    leaked = _content(random.Random(1), 30)
    pair = _pair({**_filler("t", 20), "t-leak": leaked}, {"e-leak": leaked, **_filler("e", 7)})
    assert pair["flagged_13gram_ids"] == {"e-leak": ["t-leak"]} and pair["flagged_8gram"] == 1
    assert "| `train` | `test` | 8 | 1 (12.5%) | 1 (12.5%) |" in pair["table"]


def test_records_sharing_only_the_system_prompt_and_template_wording_are_not_flagged():
    # Three records (too few to be format) open with the same five words. Counted across the
    # template, its last eight words plus these five made a 13-gram shared by train and test.
    opening = "the quantity rose sharply then"
    training = {**_filler("t", 20), "t-a": f"{opening} x1 x2", "t-b": f"{opening} x3 x4"}
    evaluation = {**_filler("e", 7), "e-a": f"{opening} y1 y2"}
    pair = _pair(training, evaluation)
    assert pair["flagged_13gram"] == 0 and pair["flagged_8gram"] == 0


def test_template_followed_by_copied_content_is_flagged_only_when_the_content_reaches_13_words():
    copied = _content(random.Random(2), 13)
    pair = _pair(
        {**_filler("t", 20), "t-13": copied, "t-12": " ".join(copied.split()[:12]) + " x1"},
        {"e-13": copied, "e-12": " ".join(copied.split()[:12]) + " y1", **_filler("e", 6)},
    )
    assert list(pair["flagged_13gram_ids"]) == ["e-13"]
    assert pair["flagged_13gram_ids"]["e-13"] == ["t-13"]
