"""Quantities: the values a text asserts (numbers with units, percentages, dates, number words),
and when two values agree. Part of the strict DACR definition (`dacr_strict`).

Reading (`scan_quantities`, `parse_quantities`), in order of appearance:
- numbers with thousands separators, decimals and signs (a "-" counts as a sign only when it
  is not a hyphen inside a range or a name: 1985-2014, A-4), scientific notation (1.6e-6,
  1.6×10⁻⁶, 3 x 10^7, 10^3, 10³), fractions (1/3, "two-thirds");
- number words (twelve, forty-one, four hundred and sixty-nine) and multipliers (25 million);
  "one" used as a pronoun ("the one that", "one of") is no value;
- dates with a four-digit year (2026-03-27, March 27, 2026, 27 March 2026), as yyyymmdd;
- the unit written after a number: a known symbol, word or phrase (`UNIT_SYMBOLS`, `UNIT_WORDS`,
  `UNIT_PHRASES`) gives its dimension and scale; any other word (a count noun: "12 datasets")
  gives none; a range shares its unit ("700-900 hPa", "25-50%");
- numbers that label something (Table 1, Fig. 2, paragraph 7, ¶ 3) and numbers inside
  identifiers (E3, SSEA-4, v0.3, Si3N4, the exponent of cm^-2) are not values.

Each value carries its precision: half a unit of its last written digit (12 -> ±0.5, 1.63 ->
±0.005), scaled with its exponent or multiplier; 0.5% of the value for fractions.

Matching (`value_matches(answer, gold)`): the answer's value agrees with the gold's within the
gold's precision and never more than 5% away (gold 1.63 accepts 1.627, not 1.6; gold 12
accepts 12.4, not 12.6; gold 1% does not accept 1.35%); dates must be equal;
- units: values of the same dimension are compared after conversion (2 nm = 20 Å); different
  dimensions never match (2 nm is not 2 eV); a missing unit on either side does not stop a match;
- percent: 31% matches 0.31 and 31, either way round; percentage points count as percent.
"""

from __future__ import annotations

import functools
import itertools
import math
import re

from crosstrace.number_words import SCALES, WORD_VALUES
from crosstrace.scoring.folding import WORD

FRACTION_RELATIVE_TOLERANCE = 0.005
# However the gold is written, a value more than 5% away from it never matches (gold 1 does
# not accept 1.35, gold 2 nm does not accept 2.4 nm).
MAX_RELATIVE_DEVIATION = 0.05

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
MULTIPLIERS = {word: float(value) for word, value in SCALES.items()}  # "3 million": a number word after digits


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
_NW = _alternation(sorted(WORD_VALUES, key=len, reverse=True))
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
_NUMBER_WORD_SET = frozenset(WORD_VALUES)
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
        value = WORD_VALUES.get(key)
        if value is None:
            # The pattern matches case-insensitively, which includes letters that lower() spells
            # otherwise (Turkish "İ" becomes "i" + a combining dot): find the word it matched.
            value = next(v for k, v in WORD_VALUES.items() if re.fullmatch(k, word, re.IGNORECASE))
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
    return not text.isascii() or not _NUMBER_WORD_SET.isdisjoint(WORD.findall(text.lower()))


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
