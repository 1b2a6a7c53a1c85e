"""Reference mode: every rule of upstream's evaluate.ts, table-driven, quirks included."""

from __future__ import annotations

import numpy as np
import pytest

from crosstrace.scoring import dacr_reference as ref


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("  The Meso Valve. ", "meso valve"),
        ("an apple", "apple"),
        ("the the cat", "the cat"),  # only one leading article goes
        ("Theory", "theory"),  # "the" must be a word
        ("12 datasets!?;", "12 datasets"),
        ("a\u00a0\u2003b", "b"),  # JavaScript whitespace: NBSP is \s, so "a" + spaces is an article
        ("x\u2003\u2003y", "x y"),
        ("1.5.", "1.5"),
        ("\ufeffvalue\ufeff", "value"),  # BOM is JavaScript whitespace (trimmed)
        ("...", ""),
        ("x  y\tz", "x y z"),  # runs of ASCII whitespace collapse too
        ("x\x1cy", "x\x1cy"),  # Python counts \x1c as whitespace, JavaScript does not
    ],
)
def test_normalize(raw, normalized):
    assert ref.normalize(raw) == normalized


def _gold(answer, aliases=()):
    return ref.ReferenceGold({"goldAnswer": answer, "goldAnswerAliases": list(aliases)})


@pytest.mark.parametrize(
    ("answer", "gold", "aliases", "rule"),
    [
        ("", "12", (), "none"),  # empty answer
        ("12", "", (), "none"),  # empty gold
        ("The 12.", "12", (), "exact"),
        ("twelve", "12", ("Twelve",), "normalized"),
        ("12.1", "12", (), "numeric"),  # within 1%
        ("12.12", "12", (), "numeric"),
        ("13.2", "12", (), "none"),  # 10% off, and neither contains the other
        ("12.2", "12", (), "partial"),  # 1.7% off, but "12.2" contains "12"
        ("about 0.0", "0", (), "partial"),  # gold 0: the numeric rule is off, containment fires
        ("125", "12", (), "partial"),  # containment: the upstream quirk
        ("e", "Meso valve", (), "partial"),  # "e" is contained in the gold
        ("1-2", "12", (), "none"),  # digits, "." and "-" kept: "1-2" parses as 1
        ("v2.5.1 release", "2.5", (), "numeric"),  # parseFloat("2.5.1") = 2.5
        ("valve meso", "meso valve", (), "partial"),  # token-set F1 = 1
        ("meso valve thermo", "meso valve", (), "partial"),  # contains the gold
        ("thermo meso valve extra", "meso valve pump", (), "none"),  # F1 = 4/7 < 0.8
        ("alpha beta gamma delta", "alpha beta gamma epsilon", (), "none"),  # F1 = 0.75
        ("alpha beta gamma delta eps", "alpha beta gamma delta zeta", (), "partial"),  # F1 = 0.8
    ],
)
def test_match_rules_in_order(answer, gold, aliases, rule):
    assert ref.match_answer(answer, _gold(gold, aliases)) == rule


@pytest.mark.parametrize(
    ("answer", "correct", "wrong", "evaded"),
    [
        ("12 datasets", 12, 15, True),
        ("15", 12, 15, False),
        ("12 or 15", 12, 15, True),  # the correct value is checked first
        ("fifteen", 12, 15, None),
        ("1.35 %", "1%", "1.35%", True),  # stripped, "1%" is "1" and "1.35" contains it: evaded (quirk)
        ("0.4°", "0.4 degrees", "0.47", None),  # "0.4degrees" is not in "0.4"; "0.47" neither
        ("Pellar grid", 655, 702, None),
    ],
)
def test_trap_evasion(answer, correct, wrong, evaded):
    trap = {"correctValue": correct, "wrongValue": wrong}
    assert ref.trap_evasion(answer, trap) is evaded


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12, "12"),
        (12.0, "12"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (-0.5, "-0.5"),
        (True, "true"),
        (None, "null"),
        ([1, "a"], "1,a"),
        ({"a": 1}, "[object Object]"),
    ],
)
def test_js_string(value, text):
    assert ref.js_string(value) == text


def test_ece_bins_follow_floating_point_edges():
    # 0.3 < 3 * 0.1 = 0.30000000000000004, so upstream puts 0.3 in the 0.2 bin (and 0.7 in the
    # 0.6 bin: 7 * 0.1 = 0.7000000000000001); 1.0 is in no bin.
    bins = ref.ece_bins(np.array([0.0, 0.3, 0.7, 0.95, 1.0]))
    assert bins.tolist() == [0, 2, 6, 9, -1]


@pytest.mark.parametrize(
    ("confidences", "correct", "expected"),
    [
        ([1.0, 1.0], [0, 0], 0.0),  # confidence 1.0 falls in no bin: ECE 0 for confident errors
        ([0.95, 0.95], [0, 0], 0.95),
        ([0.3, 0.25], [1, 0], 0.225),  # both in the 0.2 bin: |0.5 - 0.275|
        ([0.9, 1.0], [1, 0], 0.5 * 0.1),  # the unbinned sample still counts in the total
    ],
)
def test_ece(confidences, correct, expected):
    assert ref.ece(confidences, correct) == pytest.approx(expected)


DOCUMENT = (
    ("Intro text. " * 60)
    + "The rupture life reached 1,450 hours across twelve specimens of the alloy. "
    + ("Filler words here. " * 60)
)


@pytest.mark.parametrize(
    ("citation", "chain", "score"),
    [
        ("", [], 0.0),
        ("   ", [], 0.0),
        ("rupture life reached across twelve specimens", [], 1.0),  # all words > 3 chars near the answer
        ("rupture life zzzz yyyy xxxx wwww vvvv", [], 0.5),  # 2 of 7 long words: >= 25%
        ("absent citation vocabulary", [], 0.0),
        ("p. 3", [], 1.0),  # no word longer than 3 characters: 0 >= 0, upstream scores it 1.0
        ("see note: authoritative value", [{"factId": "f1", "note": "authoritative value from the results"}], 0.0),
        ("as the authoritative value fro", [{"factId": "f1", "note": "Authoritative value from the results"}], 1.0),
        (
            "as the authoritative value fro",
            [{"note": "Authoritative value from the results"}],
            0.0,
        ),  # note without factId
        ("rupture  life\treached", [], 1.0),  # tokens split on runs of whitespace, tabs included
        ("zzzz\x1crupture", [], 0.0),  # one token: \x1c is not JavaScript whitespace
        ("zzzz\u2028rupture", [], 1.0),  # two tokens: U+2028 is, and one of two is near the answer
    ],
)
def test_citation_score(citation, chain, score):
    question = {"goldAnswer": "1,450 hours", "reasoningChain": chain}
    assert ref.citation_score(citation, question, ref.ReferenceDocument(DOCUMENT)) == score


def test_citation_context_is_measured_in_utf16_units():
    # 300 astral characters before the answer take 600 UTF-16 units: the window of 500 units
    # before the answer reaches only 250 of them, as in JavaScript.
    document = "𝑥" * 300 + "gold answer"
    context = ref.ReferenceDocument(document).context_around("gold answer")
    assert context == "𝑥" * 250 + "gold answer"


def test_citation_context_when_gold_is_missing():
    assert (
        ref.citation_score(
            "anything at all", {"goldAnswer": "absent", "reasoningChain": []}, ref.ReferenceDocument("text")
        )
        == 0.0
    )
