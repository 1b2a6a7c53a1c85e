"""The project's strict DACR answer definition (`mode="strict"`, the default), versioned.

    from crosstrace.scoring.dacr_strict import StrictGold
    gold = StrictGold(question)              # prepared once per question
    gold.match("12 datasets")                 # (True, "value")

An answer is correct when it matches ONE of the gold forms (the gold answer or an alias):

1. **empty is wrong**; an answer equal to a form after case/space/outer-punctuation folding is
   correct ("exact"/"alias").
2. **Values.** When the gold forms state values, the answer's values are read: numbers with
   thousands separators, decimals, signs, scientific notation (1.6e-6, 1.6×10⁻⁶, 10^3, 10³),
   fractions (1/3), number words (twelve, forty-one, 25 million), dates (2026-03-27, March 27,
   2026), with their unit. Numbers that label something (Table 1, paragraph 7) are not values;
   the values the question itself states are left out when the answer states others (an
   answer made only of the question's values asserts all of them: echoing options is hedging).
   - A value matches a gold value within the gold's precision: half a unit of the gold's last
     written digit, and never more than 5% away (gold 1.63 accepts 1.627, not 1.6; gold 12
     accepts 12 and 12.4, not 12.6 or 13; gold 1% does not accept 1.35%; gold "25 million"
     accepts 25.3 million); fractions within 0.5%.
   - Percent-aware: 31% matches 0.31 and 31; percentage points count as percent.
   - Unit-aware: known units of the same dimension are converted (2 nm = 20 Å); known units of
     different dimensions never match (2 nm is not 2 eV); a count noun (12 datasets) or a
     missing unit does not stop a match.
   - Correct when every gold value of the form is matched AND every value the answer asserts
     matches some gold value of some form: an answer that asserts several different candidate
     values ("12 or 15", every number of the document) is wrong ("foreign_value").
   - A form that also states words the question does not contain (e.g. "outer tube" in
     "outer tube; 1.6×10⁻⁶ e/Å³") needs at least two thirds of those words in the answer
     (one-letter variable names such as the n of "n=14" excepted).
3. **Traps.** An answer that asserts a trap's planted value (read with that value's own
   precision) is wrong, even where it would round to the gold ("trap_value").
4. **Text.** For forms without values: token F1 >= 0.8 between the answer's and the form's
   content words (lowercased, accents and Greek letters folded, articles and stopwords
   dropped), with a guard against padding: token precision must also be >= 0.8, after
   ignoring answer words that merely restate the question (but not the names the question
   lists, such as its options E1, E2, E3: naming several of them is hedging), and the answer
   must contain a word of the form that the question does not (echoing the question is
   wrong). "Meso valve or Thermo merge" is wrong for gold "Meso valve"; "the meso valve" is right.

Tokenization uses the word pattern of nltk's `wordpunct_tokenize` (`\\w+|[^\\w\\s]+`, which needs
no downloaded data) through a precompiled `re` pattern: nltk 3.10 wraps every call in a
timeout guard that costs ~50 µs per short answer (measured), too slow for 100k answers.

Change STRICT_VERSION whenever a rule changes: numbers under different versions are not comparable.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections import Counter
from typing import Any

STRICT_VERSION = "crosstrace-dacr-strict-1.0"

TEXT_F1_THRESHOLD = 0.8
TEXT_PRECISION_THRESHOLD = 0.8
FRACTION_RELATIVE_TOLERANCE = 0.005
# However the gold is written, a value more than 5% away from it never matches (gold 1 does
# not accept 1.35, gold 2 nm does not accept 2.4 nm).
MAX_RELATIVE_DEVIATION = 0.05

# ----------------------------------------------------------------------------- text folding

# The word tokens of nltk's wordpunct_tokenize (pattern \w+|[^\w\s]+, punctuation tokens dropped).
_WORD = re.compile(r"\w+")
_FOLD_MAP = {
    "−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "µ": "mu", "ν": "nu", "ξ": "xi",
    "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip
# A regex with a replacement function calls Python only where a character matches;
# str.translate with a dict looks every character up (several µs on a short answer).
_FOLD_CHARS = re.compile("[" + "".join(_FOLD_MAP) + "]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
ARTICLES = frozenset({"a", "an", "the"})
STOPWORDS = ARTICLES | frozenset(
    [
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "and",
        "or",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "as",
        "from",
        "that",
        "this",
        "these",
        "those",
        "which",
        "it",
        "its",
        "than",
        "per",
        "vs",
        "versus",
        "into",
        "onto",
        "about",
        "approximately",
        "around",
        "roughly",
        "nearly",
        "approx",
        "ca",
        "circa",
        "over",
        "under",
        "more",
        "less",
        "least",
        "most",
        "up",
        "total",
        "value",
        "equal",
        "equals",
        "order",
    ]
)
_EXACT_STRIP = " \t\n.,;:!?\"'`()[]{}"


def fold(text: str) -> str:
    """Lowercase, Greek letters spelled out, accents and compatibility forms folded."""
    text = text.lower()
    if text.isascii():
        return text
    text = _FOLD_CHARS.sub(lambda m: _FOLD_MAP[m.group()], text)
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def words(text: str) -> list[str]:
    """Word tokens of the folded text, articles dropped (punctuation tokens of the wordpunct pattern skipped)."""
    return [w for w in _WORD.findall(fold(text)) if w not in ARTICLES]


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]


def exact_form(text: str) -> str:
    """Folding for the exact rule: case, spacing, outer punctuation and one leading article."""
    # str.split() splits on the characters `\s` matches (str.isspace): the same as
    # re.sub(r"\s+", " ", ...) before the strip, without a regex call per space.
    text = " ".join(fold(text).split()).strip(_EXACT_STRIP)
    for article in ("the ", "a ", "an "):
        if text.startswith(article):
            return text[len(article) :].strip(_EXACT_STRIP)
    return text


# ----------------------------------------------------------------------------- units

_PREFIX_SCALES = {
    "": 1.0,
    "c": 1e-2,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "m": 1e-3,
    "u": 1e-6,
    "μ": 1e-6,
    "µ": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
}


def _prefixed(
    base: str, dimension: str, scale: float = 1.0, prefixes: str = "kMGTmuμµnp"
) -> dict[str, tuple[str, float]]:
    return {p + base: (dimension, scale * _PREFIX_SCALES[p]) for p in ("", *prefixes)}


# Case-sensitive unit symbols -> (dimension, factor to the dimension's base unit).
UNIT_SYMBOLS: dict[str, tuple[str, float]] = {
    **_prefixed("m", "length", prefixes="kcmuμµnp"),
    "Å": ("length", 1e-10),  # U+00C5; the angstrom sign U+212B is mapped to it first
    **_prefixed("g", "mass", 1e-3, prefixes="kmuμµn"),
    **_prefixed("s", "time", prefixes="muμµnp"),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "hr": ("time", 3600.0),
    "hrs": ("time", 3600.0),
    "yr": ("time", 3.15576e7),
    "yrs": ("time", 3.15576e7),
    **_prefixed("eV", "energy", 1.602176634e-19, prefixes="mkMGT"),
    **_prefixed("J", "energy", prefixes="mkMG"),
    "kJ/mol": ("molar_energy", 1.0),
    "J/mol": ("molar_energy", 1e-3),
    "kcal/mol": ("molar_energy", 4.184),
    **_prefixed("V", "voltage", prefixes="mkuμµ"),
    "K": ("temperature_k", 1.0),
    "°C": ("temperature_c", 1.0),
    "℃": ("temperature_c", 1.0),
    "°F": ("temperature_f", 1.0),
    **_prefixed("Hz", "frequency", prefixes="kMGT"),
    **_prefixed("Pa", "pressure", prefixes="kMG"),
    "hPa": ("pressure", 100.0),
    "bar": ("pressure", 1e5),
    "mbar": ("pressure", 100.0),
    "atm": ("pressure", 101325.0),
    **_prefixed("W", "power", prefixes="mkMG"),
    "°": ("angle", 1.0),
    "deg": ("angle", 1.0),
    "rad": ("angle", 180.0 / math.pi),
    "mrad": ("angle", 0.18 / math.pi),
    **_prefixed("M", "concentration", prefixes="muμµnp"),
    "bp": ("sequence", 1.0),
    "kb": ("sequence", 1e3),
    "kbp": ("sequence", 1e3),
    "Mb": ("sequence", 1e6),
    "Mbp": ("sequence", 1e6),
    "%": ("percent", 1.0),
    "pp": ("percent", 1.0),
    "px": ("pixel", 1.0),
}
# Unit words, matched lowercased; plural "s" is stripped before lookup.
UNIT_WORDS: dict[str, tuple[str, float]] = {
    "meter": ("length", 1.0), "metre": ("length", 1.0), "kilometer": ("length", 1e3), "centimeter": ("length", 1e-2),
    "millimeter": ("length", 1e-3), "micrometer": ("length", 1e-6), "micron": ("length", 1e-6),
    "nanometer": ("length", 1e-9), "picometer": ("length", 1e-12), "angstrom": ("length", 1e-10),
    "gram": ("mass", 1e-3), "kilogram": ("mass", 1.0), "milligram": ("mass", 1e-6), "microgram": ("mass", 1e-9),
    "second": ("time", 1.0), "millisecond": ("time", 1e-3), "microsecond": ("time", 1e-6), "nanosecond": ("time", 1e-9),
    "minute": ("time", 60.0), "hour": ("time", 3600.0), "day": ("time", 86400.0), "week": ("time", 604800.0),
    "month": ("time", 2.62980e6), "year": ("time", 3.15576e7),
    "volt": ("voltage", 1.0), "millivolt": ("voltage", 1e-3), "kelvin": ("temperature_k", 1.0),
    "celsius": ("temperature_c", 1.0), "hertz": ("frequency", 1.0), "pascal": ("pressure", 1.0),
    "watt": ("power", 1.0), "degree": ("angle", 1.0), "radian": ("angle", 180.0 / math.pi),
    "percent": ("percent", 1.0), "pct": ("percent", 1.0), "pixel": ("pixel", 1.0),
    "joule": ("energy", 1.0), "kilojoule": ("energy", 1e3),
}  # fmt: skip
UNIT_PHRASES: dict[str, tuple[str, float]] = {
    "base pair": ("sequence", 1.0),
    "kilobase pair": ("sequence", 1e3),
    "electron volt": ("energy", 1.602176634e-19),
    "electronvolt": ("energy", 1.602176634e-19),
    "percentage point": ("percent", 1.0),
    "per cent": ("percent", 1.0),
    "degrees celsius": ("temperature_c", 1.0),
    "degree celsius": ("temperature_c", 1.0),
}
MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


@functools.lru_cache(maxsize=4096)  # the same few words follow numbers again and again
def lookup_unit(symbol: str, following: str = "") -> tuple[tuple[str, float] | None, bool]:
    """((dimension, scale) or None for a count noun/unknown word, whether `following` was part of it)."""
    if symbol in UNIT_SYMBOLS:
        return UNIT_SYMBOLS[symbol], False
    lowered = symbol.lower()
    if following:
        phrase = f"{lowered} {following.lower()}"
        for candidate in (phrase, phrase[:-1] if phrase.endswith("s") else phrase):
            if candidate in UNIT_PHRASES:
                return UNIT_PHRASES[candidate], True
    if lowered in UNIT_WORDS:
        return UNIT_WORDS[lowered], False
    if lowered.endswith("s") and lowered[:-1] in UNIT_WORDS:
        return UNIT_WORDS[lowered[:-1]], False
    return None, False


# ----------------------------------------------------------------------------- quantities


class Quantity:
    """A value an answer asserts: a number with its unit, or a date (yyyymmdd).

    `reach` is how far a value may be from this one, taken as the gold, and still match: the
    gold's precision, capped at 5% of it (plus a rounding margin). It is computed once here,
    since value and tolerance never change after construction."""

    __slots__ = ("dimension", "is_date", "reach", "scale", "tolerance", "value")

    def __init__(
        self, value: float, tolerance: float, dimension: str | None = None, scale: float = 1.0, is_date: bool = False
    ):
        self.value = value
        self.tolerance = tolerance
        self.dimension = dimension
        self.scale = scale
        self.is_date = is_date
        size = abs(value)
        self.reach = min(tolerance, MAX_RELATIVE_DEVIATION * size) * (1 + 1e-9) + 1e-12 * max(1.0, size)

    def __repr__(self) -> str:
        unit = f" [{self.dimension}x{self.scale:g}]" if self.dimension else ""
        return f"Quantity({self.value:g}±{self.tolerance:g}{unit}{' date' if self.is_date else ''})"


def value_matches(answer: Quantity, gold: Quantity) -> bool:
    """Does the answer's value agree with the gold value, within the gold's precision?"""
    if answer.is_date or gold.is_date:
        return answer.is_date and gold.is_date and answer.value == gold.value
    value, target, reach = answer.value, gold.value, gold.reach
    if answer.dimension and gold.dimension:
        if answer.dimension != gold.dimension:
            return False
        return abs(value * answer.scale / gold.scale - target) <= reach
    if gold.dimension == "percent":  # bare answer against a percentage: 31 or 0.31 for 31%
        return abs(value - target) <= reach or abs(value * 100.0 - target) <= reach
    if answer.dimension == "percent":  # percentage against a bare gold: 31% for 0.31 (or 31)
        return abs(value - target) <= reach or abs(value / 100.0 - target) <= reach
    return abs(value - target) <= reach


def matches_any(answer: Quantity, golds: list[Quantity]) -> bool:
    """Does the answer's value match one of `golds`? (A plain loop: this runs for every value
    of every answer, and is cheaper than any() over a generator.)"""
    for gold in golds:  # noqa: SIM110 (see the docstring)
        if value_matches(answer, gold):
            return True
    return False


def _alternation(words: list[str]) -> str:
    """`"|".join(words)` grouped by first letter ("t(?:hirteen|welve|en)|..."): the same matches,
    since each group keeps its words' order, but at each position the regex engine tries only
    the words that start with the letter there instead of every word in turn."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(f"{re.escape(first)}(?:{'|'.join(rests)})" for first, rests in groups.items())


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_MONTH = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
# Every date has a four-digit year; a leading (?=\d) lets the engine skip other positions cheaply.
_DATES = [
    re.compile(r"(?=\d)(?<!\d)(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})(?!\d)", re.IGNORECASE),
    re.compile(
        r"(?=\d)(?<!\d)(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})(?!\d)", re.IGNORECASE
    ),
]
_YEAR = re.compile(r"\d\d\d\d")  # (spelled out: the engine skips non-digits faster than with \d{4})
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹"
# A number not inside an identifier: not after a letter/digit/"." and not after "letter-" (E3,
# SSEA-4, v0.3, Si3N4 are names, not values), and not an exponent of a unit (cm^-2).
# The leading lookahead only lets the engine skip, cheaply, positions where no number starts.
_NUMBER = re.compile(
    r"(?=[\d.])(?<![\w.^])(?<![^\W\d_]-)(?<!\^-)(?<!\^\+)"
    r"(?P<mant>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:"
    rf"(?P<pow>\^\s*(?P<pow_exp>[-+]?\d+)|[{_SUP}⁻⁺]+)"  # 10^3, 10³ (only when the mantissa is 10)
    rf"|\s*[x×*·]\s*10\s*(?:(?:\^|\*\*)\s*(?P<sci_exp>[-+]?\d+)|(?P<sci_sup>[⁻⁺]?[{_SUP}]+))"  # 1.6×10⁻⁶, 3 x 10^7
    r"|[eE](?P<e_exp>[-+]?\d+)(?![\w.])"  # 1.6e-6
    r"|\s*/\s*(?P<den>\d+(?:\.\d+)?)(?![\w.])"  # 1/3, 15/15
    r")?"
)
_UNIT_AFTER = re.compile(r"[ \t]*(?P<unit>%|°\s*[CF]?|℃|[^\W\d_][^\s,;:()\[\]{}]*)(?:[ \t]+(?P<next>[^\W\d_]+))?")
_MULTIPLIER_AFTER = re.compile(r"\s+(thousand|million|billion|trillion)\b", re.IGNORECASE)
_LABELS = "table tab fig figure section sec eq equation paragraph para page pp ref appendix line step row column chapter item no q question"
_LABEL_BEFORE = re.compile(rf"(?:\b(?:{_alternation(_LABELS.split())})\.?\s*|\bparagraph_|¶\s*|§\s*)\Z", re.IGNORECASE)
_RANGE_BETWEEN = re.compile(r"\s*(?:-|–|—|to|and)\s*\Z")
_NUMBER_WORD_VALUES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, **{k: int(v) for k, v in MULTIPLIERS.items()},
}  # fmt: skip
_NW = _alternation(sorted(_NUMBER_WORD_VALUES, key=len, reverse=True))
# The lookahead lets the regex engine skip positions that cannot start a number word.
# "and" joins only after a scale word ("four hundred and sixty-nine"); "one and two" is two numbers.
_NUMBER_WORDS = re.compile(
    rf"\b(?=[zotfsenhmbZOTFSENHMB])(?:{_NW})(?:(?:\s+|-|(?:(?<=hundred)|(?<=thousand)|(?<=million)|(?<=billion))\s+and\s+)(?:{_NW}))*\b",
    re.IGNORECASE,
)
_NUMBER_WORD_ROOTS = (
    "zero",
    "one",
    "two",
    "thre",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twel",
    "fift",
    "twent",
    "thirt",
    "fort",
    "hundred",
    "thousand",
    "million",
    "billion",
    "trillion",
)
_NUMBER_WORD_SET = frozenset(_NUMBER_WORD_VALUES)
_NUMBER_WORD_ROOT = re.compile(_alternation(list(_NUMBER_WORD_ROOTS)))
_MONTH_ROOT = re.compile(_alternation(list(_MONTHS)))
_HAS_DIGIT = re.compile(r"\d")
_FRACTION_DENOMINATORS = {
    "half": 2,
    "third": 3,
    "quarter": 4,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_FRACTION_WORD_AFTER = re.compile(
    r"[\s-]+(half|halves|thirds?|quarters?|fourths?|fifths?|sixths?|sevenths?|eighths?|ninths?|tenths?)\b",
    re.IGNORECASE,
)
# Characters after which no unit can follow a number.
_NO_UNIT_AFTER = frozenset(",;:)]}'\"")
# Characters a label ("Table 1", "paragraph_7", "¶ 3", "Fig. 2") can end with before its number.
_LABEL_ENDINGS = frozenset(" \t._¶§")
_LABEL_LAST_CHARS = (
    frozenset(label[-1] for label in _LABELS.split())
    | frozenset(label[-1].upper() for label in _LABELS.split())
    | {"_"}
)
# "one" as a pronoun ("the one that", "one of the") asserts no value.
_PRONOUN_ONE_BEFORE = re.compile(r"\b(?:the|this|that|each|any|no|which|every|another|only)\s+\Z", re.IGNORECASE)
_PRONOUN_ONE_AFTER = re.compile(r"\s+(?:of|another)\b", re.IGNORECASE)


_SAME_LENGTH = {
    "−": "-",
    "–": "-",
    "—": "-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "µ": "μ",
    "\u212b": "\u00c5",
}
_SAME_LENGTH_CHARS = re.compile("[" + "".join(_SAME_LENGTH) + "]")


def _prepare(text: str) -> str:
    """One-for-one character replacements that number reading needs (so spans stay valid)."""
    return text if text.isascii() else _SAME_LENGTH_CHARS.sub(lambda m: _SAME_LENGTH[m.group()], text)


def _power_of_ten(exponent: int) -> float:
    """10 ** exponent; infinite beyond floating point (an answer may well write 10^999)."""
    try:
        return 10.0**exponent
    except OverflowError:
        return math.inf


def _number_words_value(phrase: str) -> int:
    total = current = 0
    for word in re.split(r"\s+|-", phrase):
        key = word.lower()
        if key == "and":
            continue
        value = _NUMBER_WORD_VALUES.get(key)
        if value is None:
            # The pattern matches case-insensitively, which includes letters that lower() spells
            # otherwise (Turkish "İ" becomes "i" + a combining dot): find the word it matched.
            value = next(v for k, v in _NUMBER_WORD_VALUES.items() if re.fullmatch(k, word, re.IGNORECASE))
        if value == 100:
            current = max(current, 1) * 100
        elif value >= 1000:
            total += max(current, 1) * value
            current = 0
        else:
            current += value
    return total + current


def _follows_label(text: str, start: int) -> bool:
    """Is the number at `start` a label's ("Table 1", "Fig. 2", "¶ 3", "paragraph_7")?"""
    window = max(0, start - 12)
    # Cheap test first: the regex can only match when the text before the number, less
    # spaces and one dot, ends with a label's last character (an ASCII character is checked
    # here; any other goes to the regex, which also knows case-insensitive equivalents).
    before = text[window:start].rstrip()
    if before.endswith("."):
        before = before[:-1]
    if not before or (before[-1].isascii() and before[-1] not in _LABEL_LAST_CHARS):
        return False
    return _LABEL_BEFORE.search(text, window, start) is not None


def _attach_unit(text: str, end: int) -> tuple[tuple[str, float] | None, int]:
    """The unit written after a number (None for a count noun) and where the unit word ends;
    an unknown word is still covered by the span, so that "12 datasets" reads as one value."""
    match = _UNIT_AFTER.match(text, end)
    if not match:
        return None, end
    symbol = match.group("unit").rstrip(".")
    if symbol.startswith("°"):
        symbol = symbol.replace(" ", "")
    unit, used_next = lookup_unit(symbol, match.group("next") or "")
    return unit, match.end("next") if used_next else match.end("unit")


def parse_quantities(text: str) -> list[Quantity]:
    """The values a text asserts, in order of appearance (see the module docstring)."""
    return [quantity for _, _, quantity in scan_quantities(text)]


def _may_hold_number_words(lowered: str) -> bool:
    # A search for the roots (as substrings) is far cheaper than the number-word regex, and
    # most answers hold none.
    return _NUMBER_WORD_ROOT.search(lowered) is not None


def _may_spell_numbers(text: str) -> bool:
    """False when `text` surely holds no number word. In ASCII text a match of the number-word
    pattern always spans whole words, one of which is a number word, so looking the words up
    is enough, and cheaper than the pattern on long text; other text goes to the pattern."""
    return not text.isascii() or not _NUMBER_WORD_SET.isdisjoint(_WORD.findall(text.lower()))


def _date_patterns(text: str, lowered: str) -> list[re.Pattern[str]]:
    """The date patterns worth running on `text` (each costs a full scan)."""
    if not _YEAR.search(text):
        return []
    patterns = [_DATES[0]] if "-" in text else []
    if _MONTH_ROOT.search(lowered):
        patterns += _DATES[1:]
    return patterns


def scan_quantities(text: str) -> list[tuple[int, int, Quantity]]:
    """(start, end, quantity) for each value of `text`; the span covers the number and its unit."""
    if not text:
        return []
    lowered = text.lower()
    has_digit = _HAS_DIGIT.search(text) is not None
    has_words = _may_hold_number_words(lowered)
    if not has_digit and not has_words:
        return []
    text = _prepare(text)
    found: list[tuple[int, int, Quantity]] = []
    masked = text
    for pattern in _date_patterns(text, lowered) if has_digit else ():
        for m in pattern.finditer(masked):
            groups = m.groupdict()
            month = int(groups["mon"]) if groups.get("mon") else _MONTHS[groups["month"][:3].lower()]
            year, day = int(groups["year"]), int(groups["day"])
            if 1 <= month <= 12 and 1 <= day <= 31:
                found.append((m.start(), m.end(), Quantity(year * 10000 + month * 100 + day, 0.0, is_date=True)))
                masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]

    for m in _NUMBER.finditer(masked) if has_digit else ():
        start, end = m.span()
        if start and masked[start - 1] in _LABEL_ENDINGS and _follows_label(masked, start):
            continue
        mantissa, power, power_exp, sci_exp, sci_sup, e_exp, denominator = m.groups()
        value = float(mantissa.replace(",", "")) if "," in mantissa else float(mantissa)
        tolerance = 0.5 * 10.0 ** -(len(mantissa) - mantissa.index(".") - 1) if "." in mantissa else 0.5
        if power is not None:
            if mantissa != "10":
                end = m.start(2)  # a superscript after another number is a footnote mark
            else:
                exponent = int(power_exp if power_exp is not None else power.translate(_SUPERSCRIPTS))
                scale = _power_of_ten(exponent)
                value, tolerance = scale, 0.5 * scale
        elif sci_exp is not None or sci_sup is not None:
            exponent = int(sci_exp if sci_exp is not None else sci_sup.translate(_SUPERSCRIPTS))
            scale = _power_of_ten(exponent)
            value, tolerance = value * scale, tolerance * scale
        elif e_exp is not None:
            exponent = int(e_exp)
            scale = _power_of_ten(exponent)
            value, tolerance = value * scale, tolerance * scale
        elif denominator is not None:
            if float(denominator) == 0:
                continue
            value = value / float(denominator)
            tolerance = abs(value) * FRACTION_RELATIVE_TOLERANCE
        # A sign counts only when it is not a hyphen inside a range or a name (1985-2014, A-4).
        if (
            start > 0
            and masked[start - 1] == "-"
            and (start < 2 or not (masked[start - 2].isalnum() or masked[start - 2] in ")]"))
        ):
            value = -value
        if has_words:
            multiplier = _MULTIPLIER_AFTER.match(masked, end)
            if multiplier:
                scale = MULTIPLIERS[multiplier.group(1).lower()]
                value, tolerance, end = value * scale, tolerance * scale, multiplier.end()
        unit, unit_end = (
            _attach_unit(masked, end) if end < len(masked) and masked[end] not in _NO_UNIT_AFTER else (None, end)
        )
        found.append((start, unit_end, Quantity(value, tolerance, *(unit or (None, 1.0)))))

    for m in _NUMBER_WORDS.finditer(masked) if has_words and _may_spell_numbers(masked) else ():
        phrase = m.group()
        if phrase.lower() == "one" and (
            _PRONOUN_ONE_BEFORE.search(masked, max(0, m.start() - 10), m.start())
            or _PRONOUN_ONE_AFTER.match(masked, m.end())
        ):
            continue
        if phrase.lower() in MULTIPLIERS:  # "million" alone, or after a digit number (handled above)
            continue
        value, tolerance, end = float(_number_words_value(phrase)), 0.5, m.end()
        fraction = _FRACTION_WORD_AFTER.match(masked, end)
        if fraction:  # "one third", "two-thirds", "three quarters"
            value /= _FRACTION_DENOMINATORS[fraction.group(1).lower().rstrip("s").replace("halve", "half")]
            tolerance, end = abs(value) * FRACTION_RELATIVE_TOLERANCE, fraction.end()
        unit, unit_end = _attach_unit(masked, end)
        found.append((m.start(), unit_end, Quantity(value, tolerance, *(unit or (None, 1.0)))))

    if len(found) < 2:
        return found
    found.sort(key=lambda item: item[0])
    # A range shares its unit: "700-900 hPa", "25-50%".
    for (_, end_a, a), (start_b, _, b) in itertools.pairwise(found):
        end_a = min(end_a, start_b)
        if a.dimension is None and b.dimension and not a.is_date and _RANGE_BETWEEN.match(masked[end_a:start_b]):
            a.dimension, a.scale = b.dimension, b.scale
    return found


def blank_quantities(text: str, spans: list[tuple[int, int, Quantity]]) -> str:
    """`text` with every value and its unit blanked, to read the words around the values."""
    chars = list(text)
    for start, end, _ in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


# ----------------------------------------------------------------------------- gold forms


class _Form:
    __slots__ = ("content", "distinctive", "novel", "quantities", "size")

    def __init__(self, text: str, question_words: frozenset[str]):
        spans = scan_quantities(text)
        self.quantities = [q for _, _, q in spans]
        if self.quantities:
            # Words the form states besides its values; one-letter words are variable names (n=14).
            residual = content_words(blank_quantities(text, spans))
            self.distinctive = frozenset(w for w in residual if len(w) > 1 and not w.isdigit()) - question_words
            self.content = Counter()
        else:
            self.distinctive = frozenset()
            self.content = Counter(content_words(text)) or Counter(words(text))
        self.size = sum(self.content.values())
        # Words of the answer form that the question does not already contain.
        self.novel = frozenset(self.content) - question_words


class StrictGold:
    """A question's gold answer and aliases prepared once for strict matching."""

    __slots__ = (
        "all_values",
        "answer_format",
        "exact",
        "question_values",
        "question_words",
        "restatable_words",
        "text_forms",
        "value_forms",
    )

    def __init__(self, question: dict[str, Any]):
        gold = question.get("goldAnswer")
        gold_text = gold if isinstance(gold, str) else ("" if gold is None else str(gold))
        aliases = [
            a if isinstance(a, str) else str(a) for a in question.get("goldAnswerAliases") or [] if a is not None
        ]
        question_text = question.get("text") if isinstance(question.get("text"), str) else ""
        self.question_words = frozenset(content_words(question_text))
        # Question words an answer may restate without padding: not the names it lists
        # (E1, MoSTe, Education), which are candidates an answer must not hedge across.
        self.restatable_words = self.question_words - _entity_words(question_text)
        self.question_values = parse_quantities(question_text)
        self.exact: dict[str, str] = {}
        forms: list[_Form] = []
        for index, text in enumerate([gold_text, *aliases]):
            key = exact_form(text)
            if not key or key in self.exact:
                continue
            self.exact[key] = "exact" if index == 0 else "alias"
            forms.append(_Form(text, self.question_words))
        self.value_forms = [f for f in forms if f.quantities]
        self.text_forms = [f for f in forms if not f.quantities and f.content]
        self.all_values = [q for f in self.value_forms for q in f.quantities]
        self.answer_format = _answer_format(forms[0] if forms else None, gold_text)

    def _asserted(self, answer: str) -> list[Quantity]:
        """The values the answer asserts: those the question itself states are left out,
        unless the answer states nothing else (then it is choosing among them)."""
        values = parse_quantities(answer)
        if not self.question_values:
            return values
        own = [v for v in values if not matches_any(v, self.question_values)]
        return own or values

    def match(self, answer: str) -> tuple[bool, str]:
        """(correct, rule) for one answer; the rule names what decided."""
        correct, rule, _ = self.assess(answer)
        return correct, rule

    def assess(
        self, answer: str, wrong: ValueTarget | None = None, right: ValueTarget | None = None
    ) -> tuple[bool, str, str | None]:
        """(correct, rule, trap side) of one answer. With a trap's planted (`wrong`) and
        authoritative (`right`) values: an answer asserting the planted value is wrong and
        "fell"; a correct one, or one asserting the authoritative value, "evaded"."""
        view = _AnswerView(answer, self)
        correct, rule = self._match(view)
        side = None
        if wrong is not None and answer.strip():
            if wrong.asserted_by(view):
                side = "fell"
                if correct:
                    correct, rule = False, "trap_value"
            elif correct or (right is not None and right.asserted_by(view)):
                side = "evaded"
        return correct, rule, side

    def asserts_value(self, answer: str, value: Any) -> bool:
        """Does the answer assert `value` (e.g. a trap's planted value)?"""
        return ValueTarget(value).asserted_by(_AnswerView(answer, self))

    def _match(self, view: _AnswerView) -> tuple[bool, str]:
        key = exact_form(view.text) if view.text else ""
        if not key:
            return False, "empty"
        if key in self.exact:
            return True, self.exact[key]
        verdict = "none"
        if self.value_forms:
            asserted = view.asserted
            if not asserted:
                verdict = "no_value"
            elif not all(matches_any(a, self.all_values) for a in asserted):
                return False, "foreign_value"
            else:
                verdict = "missing_value"
                for form in self.value_forms:
                    if not all(any(value_matches(a, g) for a in asserted) for g in form.quantities):
                        continue
                    if form.distinctive and 3 * len(form.distinctive & view.words) < 2 * len(form.distinctive):
                        verdict = "text_mismatch"
                        continue
                    return True, "value"
        if self.text_forms:
            answer_words = view.content_words or view.word_list
            for form in self.text_forms:
                kept = [w for w in answer_words if w in form.content or w not in self.restatable_words]
                if not kept or (form.novel and form.novel.isdisjoint(kept)):
                    continue  # nothing but the question restated
                unmatched = dict(form.content)  # multiset overlap, counted by hand (Counter & is slow)
                common = 0
                for w in kept:
                    if unmatched.get(w):
                        unmatched[w] -= 1
                        common += 1
                if not common:
                    continue
                precision = common / len(kept)
                recall = common / form.size
                if (
                    precision >= TEXT_PRECISION_THRESHOLD
                    and 2 * precision * recall / (precision + recall) >= TEXT_F1_THRESHOLD
                ):
                    return True, "text_f1"
        return False, "text_mismatch" if verdict == "none" else verdict


class _AnswerView:
    """One answer, read lazily and at most once: its asserted values and its words."""

    __slots__ = ("_asserted", "_gold", "_tokens", "_words", "text")

    def __init__(self, text: str, gold: StrictGold):
        self.text = text
        self._gold = gold
        self._asserted: list[Quantity] | None = None
        self._tokens: list[str] | None = None
        self._words: set[str] | None = None

    @property
    def asserted(self) -> list[Quantity]:
        if self._asserted is None:
            self._asserted = self._gold._asserted(self.text)
        return self._asserted

    @property
    def _folded_tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = _WORD.findall(fold(self.text))
        return self._tokens

    @property
    def word_list(self) -> list[str]:
        """`words(text)`, from tokens read once."""
        return [w for w in self._folded_tokens if w not in ARTICLES]

    @property
    def content_words(self) -> list[str]:
        """`content_words(text)`, from tokens read once."""
        return [w for w in self._folded_tokens if w not in STOPWORDS]

    @property
    def words(self) -> set[str]:
        if self._words is None:
            self._words = set(self.word_list)
        return self._words


class ValueTarget:
    """A single value (a trap's correct or planted value), read once: its quantities, or its
    words when it states no number."""

    __slots__ = ("quantities", "words")

    def __init__(self, value: Any):
        text = value if isinstance(value, str) else _plain_number(value)
        self.quantities = parse_quantities(text)
        self.words = frozenset() if self.quantities else frozenset(words(text))

    def asserted_by(self, view: _AnswerView) -> bool:
        if self.quantities:
            return any(value_matches(a, t) for t in self.quantities for a in view.asserted)
        return bool(self.words) and self.words <= view.words


_TOKEN = re.compile(r"\w+")


def _entity_words(text: str) -> frozenset[str]:
    """Folded words written as names in `text`: with a digit, all capitals, or a capital letter
    other than at the start of a sentence."""
    names = set()
    for match in _TOKEN.finditer(text):
        token = match.group()
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".?!:"
        if (
            any(ch.isdigit() for ch in token)
            or (len(token) > 1 and token.isupper())
            or (token[0].isupper() and not sentence_start)
        ):
            names.update(content_words(token))
    return frozenset(names)


def _plain_number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


ANSWER_FORMATS = ("numeric", "composite", "short_text", "long_text")


def _answer_format(form: _Form | None, gold_text: str) -> str:
    """What kind of answer the question wants: one value, several values or values with
    words, a short name (<= 4 words), or a longer text."""
    if form is None:
        return "short_text"
    if form.quantities:
        distinct = {round(q.value, 12) for q in form.quantities}
        return "numeric" if len(distinct) == 1 and not form.distinctive else "composite"
    return "short_text" if len(words(gold_text)) <= 4 else "long_text"
