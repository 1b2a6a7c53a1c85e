"""Strict mode: each rule of the strict definition, table-driven, and the text tokenizer."""

from __future__ import annotations

import pytest
from nltk.tokenize import wordpunct_tokenize

from crosstrace.scoring import dacr_strict as strict
from crosstrace.scoring import folding, quantities


def gold(answer, aliases=(), question="What is it?"):
    return strict.StrictGold({"goldAnswer": answer, "goldAnswerAliases": list(aliases), "text": question})


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("12", [12]),
        ("40,960 data points", [40960]),
        ("1,113 of 3,644", [1113, 3644]),
        ("12, 15", [12, 15]),
        ("-0.5 and −0.25", [-0.5, -0.25]),
        ("1985–2014", [1985, 2014]),  # a range, not a negative number
        ("1.6×10⁻⁶", [1.6e-6]),
        ("3 × 10^7", [3e7]),
        ("1e5", [1e5]),
        ("10³ cm⁻²", [1000]),  # the unit's exponent is not a value
        ("1/3", [1 / 3]),
        ("one third", [1 / 3]),
        ("two-thirds", [2 / 3]),
        ("twelve", [12]),
        ("forty-one materials", [41]),
        ("25 million", [25e6]),
        ("twenty-five million", [25e6]),
        ("four hundred and sixty-nine", [469]),
        ("one and two", [1, 2]),
        ("the one that works", []),  # "one" as a pronoun
        ("one of the two methods", [2]),
        ("E3, SSEA-4, v0.3, Si3N4, P63/m", []),  # identifiers are not values
        ("Table 1 gives 14", [14]),  # a label's number is not a value
        ("see paragraph 7: 12", [12]),
        ("2026-03-27", [20260327]),
        ("March 27, 2026", [20260327]),
        ("27 March 2026", [20260327]),
        ("", []),
        ("no numbers here", []),
    ],
)
def test_parse_quantities(text, values):
    assert [q.value for q in quantities.parse_quantities(text)] == pytest.approx(values)


@pytest.mark.parametrize(
    ("text", "dimension"),
    [
        ("14 bp", "sequence"),
        ("14 base pairs", "sequence"),
        ("2 nm", "length"),
        ("20 Å", "length"),
        ("0.4°", "angle"),
        ("0.4 degrees", "angle"),
        ("1.32 eV", "energy"),
        ("31%", "percent"),
        ("31 percent", "percent"),
        ("9.4 percentage points", "percent"),
        ("5.6 K", "temperature_k"),
        ("25 °C", "temperature_c"),
        ("12 datasets", None),
        ("700-900 hPa", "pressure"),
    ],
)
def test_units(text, dimension):
    assert quantities.parse_quantities(text)[0].dimension == dimension


@pytest.mark.parametrize(
    ("answer", "gold_answer", "aliases", "expected", "rule"),
    [
        # empty, exact and alias
        ("", "12", (), False, "empty"),
        ("   ", "12", (), False, "empty"),
        ("The Meso valve.", "Meso valve", (), True, "exact"),
        ("twelve", "12", ("twelve",), True, "alias"),
        # values by precision, at most 5% away
        ("12 datasets", "12", (), True, "value"),
        ("12.4", "12", (), True, "value"),
        ("12.6", "12", (), False, "foreign_value"),
        ("125", "12", (), False, "foreign_value"),
        ("1.627", "Approximately 1.63", (), True, "value"),
        ("1.6", "Approximately 1.63", (), False, "foreign_value"),
        ("1.35%", "1%", (), False, "foreign_value"),  # within "1%"'s half unit, but 35% away
        ("25.3 million", "25 million", (), True, "value"),
        ("0.3333", "1/3", (), True, "value"),
        ("0.33", "1/3", (), False, "foreign_value"),
        # percent-aware
        ("0.01", "1%", (), True, "value"),
        ("31%", "0.31", (), True, "value"),
        # unit-aware
        ("20 Å", "2 nm", (), True, "value"),
        ("2 eV", "2 nm", (), False, "foreign_value"),
        ("14 kb", "14 bp", (), False, "foreign_value"),
        ("14", "14 bp", (), True, "value"),
        ("0.4 rad", "0.4 degrees", (), False, "foreign_value"),
        # several candidate values
        ("12 or 15", "12", (), False, "foreign_value"),
        ("12 (not the preliminary 15)", "12", (), False, "foreign_value"),
        ("12, 15, 3, 2026, 7", "12", (), False, "foreign_value"),
        ("1985", "1985–2014", (), False, "missing_value"),
        ("1985 to 2014", "1985–2014", (), True, "value"),
        ("e", "12", (), False, "no_value"),
        # dates
        ("March 27, 2026", "2026-03-27", (), True, "value"),
        ("2026", "2026-03-27", (), False, "foreign_value"),
        # words a value form states besides its values
        ("outer tube, 1.6e-6", "outer tube; 1.6×10⁻⁶ e/Å³", (), True, "value"),
        ("inner tube, 1.6e-6", "outer tube; 1.6×10⁻⁶ e/Å³", (), False, "text_mismatch"),
        # text: F1 >= 0.8 with the padding guard
        ("meso valve", "Meso valve", (), True, "exact"),
        ("Meso valve or Thermo merge", "Meso valve", (), False, "text_mismatch"),
        ("Meso", "Meso valve", (), False, "text_mismatch"),
        ("valve Meso", "Meso valve", (), True, "text_f1"),
        ("e", "Meso valve", (), False, "text_mismatch"),
        ("β-Si3N4", "beta-Si3N4", (), True, "exact"),  # Greek letters folded
        ("Schrödinger equation", "Schrodinger equation", (), True, "exact"),  # accents folded
        (
            "hierarchical sheaf spectral embedding method framework",
            "hierarchical sheaf spectral embedding",
            (),
            False,
            "text_mismatch",
        ),
    ],
)
def test_match(answer, gold_answer, aliases, expected, rule):
    assert gold(gold_answer, aliases).match(answer) == (expected, rule)


def test_question_words_are_not_padding_and_echo_is_wrong():
    g = gold("Quandela", question="Which company manufactured the Ascella processor?")
    assert g.match("Quandela manufactured it") == (True, "text_f1")
    assert g.match("Quandela, a French startup") == (False, "text_mismatch")
    assert g.match("Which company manufactured the Ascella processor?")[0] is False
    # Names the question lists are candidates: echoing all the options is hedging.
    options = gold(
        "E3",
        ["Threading dislocation E3"],
        question="Among the dislocations labeled E1, E2, E3 and M1, which has an a-axis component?",
    )
    assert options.match("dislocation E3") == (True, "text_f1")
    assert (
        options.match("Among the dislocations labeled E1, E2, E3 and M1, which has an a-axis component?")[0] is False
    )
    # An alias made of question words plus one new word: the echo lacks the new word.
    band = gold(
        "type-II", ["Type-II band alignment"], question="What type of band alignment is formed in the nanotube?"
    )
    assert band.match("type II") == (True, "text_f1")
    assert band.match("What type of band alignment is formed in the nanotube?")[0] is False


def test_values_stated_by_the_question_are_not_candidates():
    g = gold(
        "Iteration 2000", question="Which checkpoint, iteration 2000 or iteration 3000, first exceeds 50% activation?"
    )
    assert g.match("2000") == (True, "value")
    assert g.match("iteration 2000, after 800 steps of warm-up")[0] is False  # 800 is the answer's own
    # An answer made only of values the question states asserts all of them: echoing both
    # options is hedging (and restating the 50% condition counts against the answer too).
    assert g.match("iteration 2000 or iteration 3000")[0] is False
    assert g.match("iteration 2000 exceeds 50%")[0] is False


@pytest.mark.parametrize(
    ("answer", "side", "correct"),
    [
        ("12", "evaded", True),
        ("15", "fell", False),
        ("12 or 15", "fell", False),
        ("fourteen", None, False),
        ("", None, False),
    ],
)
def test_trap_sides(answer, side, correct):
    g = gold("12", question="How many datasets?")
    result = g.assess(answer, strict.ValueTarget(15), strict.ValueTarget(12))
    assert result[2] == side and result[0] is correct


def test_answer_asserting_the_planted_value_is_wrong_even_when_it_rounds_to_the_gold():
    g = gold("1%", question="What cumulative exposure is required?")
    assert g.assess("1.35%", strict.ValueTarget("1.35%"), strict.ValueTarget("1%"))[:3] == (
        False,
        "foreign_value",
        "fell",
    )


def test_derived_trap_question_evades_by_being_correct():
    g = gold("Pellar grid", question="Which organoid study had the highest flux?")
    assert g.assess("Pellar grid", strict.ValueTarget(702), strict.ValueTarget(655)) == (True, "exact", "evaded")
    assert g.assess("Quorin array", strict.ValueTarget(702), strict.ValueTarget(655)) == (False, "text_mismatch", None)


@pytest.mark.parametrize(
    ("gold_answer", "answer_format"),
    [
        ("12", "numeric"),
        ("14 bp", "numeric"),
        ("1985–2014", "composite"),
        ("n=14, with a band gap of 1.32 eV", "composite"),
        ("Meso valve", "short_text"),
        ("Both UMAP and t-SNE rely on a single neighborhood resolution", "long_text"),
    ],
)
def test_answer_format(gold_answer, answer_format):
    assert gold(gold_answer).answer_format == answer_format


@pytest.mark.parametrize(
    "text",
    [
        "The CBM is located on the outer tube, with 1.6 e/Å³!",
        "don't stop—β-Si3N4 (P63/m)",
        "a_b c-d 3.14",
        "  spaced\tout\nlines  ",
    ],
)
def test_words_are_nltk_wordpunct_word_tokens(text):
    # The strict text rule tokenizes like nltk's wordpunct_tokenize, through a precompiled regex.
    expected = [t for t in wordpunct_tokenize(folding.fold(text)) if t[0].isalnum() or t[0] == "_"]
    assert folding.words(text) == [t for t in expected if t not in folding.ARTICLES]


def _challenge():
    paragraphs = [
        "Title of a made-up study",
        "Abstract. The alloy reached a rupture life of 1,450 hours at 850 degrees.",
        "Methods. Bars came from Corvane Metals and were machined into specimens.",
        "A preliminary screening suggested 1,100 hours, pending confirmation.",
        "Results. Grain size averaged 45 micrometres in every specimen tested.",
    ]

    def fact(fid, section, quote):
        return {"factId": fid, "location": {"section": section, "paragraphIndex": 0, "contextQuote": quote}}

    return {
        "document": {"text": "\n\n".join(paragraphs)},
        "facts": [
            fact("f1", "Abstract", "The alloy reached a rupture life of 1,450 hours"),
            fact("f2", "Results", "Grain size averaged 45 micrometres"),
        ],
        "traps": [
            {
                "trapId": "t0",
                "targetFactId": "f1",
                "correctValue": 1450,
                "wrongValue": 1100,
                "trapLocation": {"injectedText": paragraphs[3]},
            }
        ],
    }


@pytest.mark.parametrize(
    ("citation", "question", "score"),
    [
        ("paragraph 1", {"reasoningChain": [{"factId": "f1"}]}, 1.0),  # 0-based
        ("para. 2", {"reasoningChain": [{"factId": "f1"}]}, 1.0),  # 1-based
        ("Abstract, paragraphs 3 and 4", {"reasoningChain": [{"factId": "f2"}]}, 1.0),  # engine style list
        ("[P4]", {"reasoningChain": [{"factId": "f2"}]}, 1.0),
        ("¶ 2-4", {"reasoningChain": [{"factId": "f2"}]}, 1.0),  # a range
        ("'reached a rupture life of 1,450 hours'", {"reasoningChain": [{"factId": "f1"}]}, 1.0),  # a quote
        ("see the Abstract", {"reasoningChain": [{"factId": "f1"}]}, 0.5),  # right section only
        (
            "preliminary screening suggested hours pending confirmation",
            {"targetsTrap": "t0", "reasoningChain": []},
            0.0,
        ),  # the planted text
        ("Methods section", {"reasoningChain": [{"factId": "f1"}]}, 0.0),
        ("", {"reasoningChain": [{"factId": "f1"}]}, 0.0),
        ("anything", {"reasoningChain": [], "goldAnswer": "12"}, None),  # no fact, numeric gold: not scorable
        (
            "paragraph 2",
            {"reasoningChain": [], "goldAnswer": "Corvane Metals"},
            1.0,
        ),  # engine style: where the gold is named
    ],
)
def test_strict_citation(citation, question, score):
    from crosstrace.scoring.dacr_citation import EvidenceIndex

    question = {"questionId": citation, **question}
    assert EvidenceIndex(_challenge()).score(citation, question) == score


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("10^999", [float("inf")]),  # beyond floating point: infinite, never a match, no crash
        ("1.5e999 K", [float("inf")]),
        ("1e-999", [0.0]),
        ("five FİVE", [10]),  # Turkish İ: the case-insensitive pattern matches it, lower() spells it "i̇"
    ],
)
def test_extreme_or_odd_numbers_are_read_without_crashing(text, values):
    assert [q.value for q in quantities.parse_quantities(text)] == values
    assert gold("12").match(text) == (False, "foreign_value")


def test_quotes_point_at_the_paragraphs_holding_most_of_their_words():
    import random

    from crosstrace.scoring.dacr_citation import MIN_QUOTE_WORDS, QUOTE_RECALL, EvidenceIndex, _content

    rng = random.Random(0)
    vocabulary = [f"word{i}" for i in range(40)]
    for _ in range(30):
        paragraphs = [" ".join(rng.sample(vocabulary, rng.randint(1, 12))) for _ in range(rng.randint(1, 70))]
        index = EvidenceIndex({"document": {"text": "\n\n".join(paragraphs)}})
        for _ in range(20):
            quote = rng.sample(vocabulary, rng.randint(1, 9))
            # The rule, counted the slow way: the paragraphs holding the most of the quote's
            # words, when that is at least 60% of them (and the quote has 3 words or more).
            counts = [len(set(quote) & set(_content(p))) for p in paragraphs]
            best = max(counts)
            expected = (
                {i for i, c in enumerate(counts) if c == best}
                if len(quote) >= MIN_QUOTE_WORDS and best >= QUOTE_RECALL * len(quote)
                else set()
            )
            assert index.pointed_paragraphs(" ".join(quote)) == expected
