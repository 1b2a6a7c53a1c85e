"""Exact numbers for the engine: parsing, fixed-precision formatting, number words, aliases.

Arithmetic on stated values uses `fractions.Fraction` built from their decimal text, and
rounding is explicit half-up, so a gold answer never depends on binary floating point: the
generator and the verifier, which compute independently, agree to the last digit on any machine.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from crosstrace.number_words import number_words

# A number as the engine writes it: optional minus, digits with optional thousands commas,
# optional decimals. Written numbers never use exponents.
NUMBER_PATTERN = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUMBER = re.compile(NUMBER_PATTERN)


def exact(text: str | int | float) -> Fraction:
    """The exact value of a written number ("41,200", "-0.35") or of a stored JSON number."""
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return _parse(repr(text))
    return _parse(text)


@lru_cache(maxsize=1 << 16)
def _parse(text: str) -> Fraction:
    # Fractions are immutable, so a parsed value can be shared; the same few hundred numbers
    # are compared many times while a challenge is solved and verified.
    return Fraction(text.replace(",", "").replace("\u2212", "-"))


def fixed(value: Fraction | int, decimals: int, grouping: bool = False) -> str:
    """`value` rounded half-up (away from zero) to `decimals` places, as text."""
    value = Fraction(value)
    scale = 10**decimals
    magnitude = abs(value) * scale
    rounded = int(magnitude) + (1 if magnitude - int(magnitude) >= Fraction(1, 2) else 0)
    sign = "-" if value < 0 and rounded else ""
    whole, frac = divmod(rounded, scale)
    whole_text = f"{whole:,}" if grouping else str(whole)
    return sign + whole_text + (f".{frac:0{decimals}d}" if decimals else "")


def json_number(text: str) -> int | float:
    """The JSON value stored for a written number: an int when it has no decimals."""
    plain = text.replace(",", "")
    return int(plain) if "." not in plain else float(plain)


def numeric_aliases(text: str, units: tuple[str, ...] = ()) -> list[str]:
    """Accepted spellings of a numeric answer: with and without thousands commas, trailing
    zeros trimmed, with each unit spelling, and in words for small whole numbers."""
    plain = text.replace(",", "")
    forms = [plain, text]
    if "." in plain:
        trimmed = plain.rstrip("0").rstrip(".")
        forms.append(trimmed)
    elif plain.lstrip("-").isdigit():
        grouped = f"{int(plain):,}"
        forms.append(grouped)
        words = number_words(int(plain))
        if words:
            forms.append(words)
    if plain.startswith("-"):
        forms.append("\u2212" + plain[1:])
    with_units = [f"{form}{'' if unit.startswith('%') else ' '}{unit}" for unit in units if unit for form in forms[:2]]
    return _unique([*forms, *with_units], exclude=text)


def _unique(items: list[str], exclude: str) -> list[str]:
    seen, out = {exclude}, []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def find_numbers(text: str) -> list[str]:
    return _NUMBER.findall(text)
