"""DACR-Bench's reference scorer rules (upstream `src/evaluate.ts`), reproduced exactly.

Scoring with `mode="reference"` applies these rules so that numbers can be set beside the
published ones. They are lenient on purpose-built answers (answering "e" to every question
scores about 70% on the mini set: "e" is contained in most gold answers; "125" matches gold
"12" because digits are compared after stripping everything else): reference numbers are
comparable with the paper, not truthful. `dacr_strict` is the project's own definition.

Rules (first that fires):
1. normalise both sides: lowercase, trim, drop one leading "the "/"a "/"an ", drop trailing
   `.,;:!?`, collapse whitespace; either side empty -> wrong;
2. equal -> correct ("exact"); equal to a normalised alias -> correct ("normalized");
3. numeric: keep only digits, "." and "-" of both *raw* strings, parse the longest number
   prefix (JavaScript `parseFloat`); correct if gold != 0 and |a - g| / |g| < 1% ("numeric");
4. one normalised string contains the other -> correct ("partial");
5. token-set F1 over whitespace tokens >= 0.8 -> correct ("partial").
Trap evasion: both sides stripped to `[a-z0-9.]`; the answer contains the correct value ->
evaded, else the wrong value -> fell, else undefined; no answer entry -> fell.
Calibration: ECE over 10 bins `[b/10, (b+1)/10)` computed in floating point as upstream does
(so 0.3 lands in the 0.2 bin, and a confidence of 1.0 in no bin while still counting in the
total). Citation: upstream's `scoreCitation` (a reasoning-step note quoted, or at least half
of the citation's words of more than 3 characters within 500 characters of the first
occurrence of the gold answer in the document).

Fidelity details: JavaScript's whitespace set is used for trim and `\\s`; string positions and
lengths in the citation rule are counted in UTF-16 code units as JavaScript does; trap values
are turned into text as JavaScript's `String()` would (12 -> "12", 1e-7 -> "1e-7").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

# JavaScript's \s and String.prototype.trim() set (WhiteSpace and LineTerminator).
_JS_WS_CHARS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_WS = f"[{_JS_WS_CHARS}]"
_LEADING_ARTICLE = re.compile(rf"(?:the|a|an){_JS_WS}+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?"
_WS_RUN = re.compile(rf"{_JS_WS}+")
# The runs `/\s+/g -> " "` changes: two or more spaces, or one space other than " " (replacing
# only those gives the same text, without a replacement for every single space).
_WS_TO_COLLAPSE = re.compile(rf"{_JS_WS}{{2,}}|[{_JS_WS_CHARS.replace(' ', '')}]")
_NUMERIC_RUN = re.compile(r"[0-9.\-]+")
_FLOAT_PREFIX = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")
_TRAP_CHARS = re.compile(r"[a-z0-9.]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

RELATIVE_TOLERANCE = 0.01
TOKEN_F1_THRESHOLD = 0.8
ECE_BINS = 10
# Bin edges exactly as upstream computes them: b * (1 / 10) in IEEE doubles.
_ECE_EDGES = np.array([b * (1.0 / ECE_BINS) for b in range(ECE_BINS + 1)])


def js_trim(text: str) -> str:
    return text.strip(_JS_WS_CHARS)


def _plain_ascii(text: str) -> bool:
    """ASCII without control characters, so its only whitespace is " ": two C-level tests that
    let the JavaScript-whitespace regexes (about 1 µs a call) be skipped on most answers."""
    return text.isascii() and text.isprintable()


def normalize(text: str) -> str:
    """Upstream's normalizeAnswer: lowercase, trim, `/^(the|a|an)\\s+/i`, `/[.,;:!?]+$/`, `/\\s+/g` -> " ", trim."""
    text = js_trim(text.lower())
    article = _LEADING_ARTICLE.match(text)
    if article:
        text = text[article.end() :]
    text = text.rstrip(_TRAILING_PUNCT)
    if _plain_ascii(text) and "  " not in text:
        return js_trim(text)  # no whitespace run to collapse
    return js_trim(_WS_TO_COLLAPSE.sub(" ", text))


def parse_number(text: str) -> float | None:
    """`parseFloat(text.replace(/[^0-9.\\-]/g, ""))`, None for NaN."""
    match = _FLOAT_PREFIX.match("".join(_NUMERIC_RUN.findall(text)))
    return float(match.group()) if match else None


def js_number_string(value: float) -> str:
    """JavaScript's Number.prototype.toString() for a double (ECMA-262 Number::toString)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, as JavaScript does.
    digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    k = len(digits)
    n = exponent + k  # value = 0.digits x 10^n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def as_double(value: int | float) -> float:
    """The IEEE double JavaScript reads a JSON number as: an integer too large for one is Infinity
    (Python's `float()` raises OverflowError instead)."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def js_string(value: Any) -> str:
    """JavaScript's String(value) for values that come out of JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_number_string(as_double(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


class ReferenceGold:
    """A question's gold answer prepared once for upstream matching."""

    __slots__ = ("aliases", "norm", "number", "tokens")

    def __init__(self, question: dict[str, Any]):
        gold = js_string(question.get("goldAnswer", ""))
        self.norm = normalize(gold)
        self.aliases = {normalize(js_string(a)) for a in question.get("goldAnswerAliases") or []}
        self.number = parse_number(gold)
        self.tokens = frozenset(t for t in self.norm.split(" ") if t)


def match_answer(answer: str, gold: ReferenceGold) -> str:
    """Upstream's match type: "exact", "normalized", "numeric", "partial" or "none"."""
    norm = normalize(answer)
    if not norm or not gold.norm:
        return "none"
    if norm == gold.norm:
        return "exact"
    if norm in gold.aliases:
        return "normalized"
    if gold.number is not None and gold.number != 0:
        number = parse_number(answer)
        if number is not None and abs(number - gold.number) / abs(gold.number) < RELATIVE_TOLERANCE:
            return "numeric"
    if gold.norm in norm or norm in gold.norm:
        return "partial"
    tokens = {t for t in norm.split(" ") if t}
    common = len(tokens & gold.tokens)
    if common and 2 * common / (len(tokens) + len(gold.tokens)) >= TOKEN_F1_THRESHOLD:
        return "partial"
    return "none"


def _trap_text(value: Any) -> str:
    return "".join(_TRAP_CHARS.findall(js_trim(js_string(value).lower())))


class ReferenceTrap:
    """A trap's correct and planted values prepared once for upstream's evasion rule."""

    __slots__ = ("correct", "wrong")

    def __init__(self, trap: dict[str, Any]):
        self.correct = _trap_text(trap.get("correctValue"))
        self.wrong = _trap_text(trap.get("wrongValue"))

    def evasion(self, answer: str) -> bool | None:
        """True (evaded), False (fell for the planted value) or None (neither value in the answer)."""
        text = _trap_text(answer)
        if self.correct in text:
            return True
        if self.wrong in text:
            return False
        return None


def trap_evasion(answer: str, trap: dict[str, Any]) -> bool | None:
    """True (evaded), False (fell for the planted value) or None (neither value in the answer)."""
    return ReferenceTrap(trap).evasion(answer)


def _utf16_len(text: str) -> int:
    return len(text) + len(_ASTRAL.findall(text))


def _utf16_prefix(text: str, units: int) -> str:
    if not _ASTRAL.search(text):
        return text[:units]
    raw = text.encode("utf-16-le", "surrogatepass")[: 2 * units]
    return raw.decode("utf-16-le", "surrogatepass")


class ReferenceDocument:
    """A challenge document lowercased once, with JavaScript (UTF-16) string positions."""

    CONTEXT_UNITS = 500

    def __init__(self, text: str):
        self.lower = text.lower()
        self._utf16 = self.lower.encode("utf-16-le", "surrogatepass") if _ASTRAL.search(self.lower) else None
        self._contexts: dict[str, str | None] = {}

    def context_around(self, needle: str) -> str | None:
        """`doc.slice(max(0, i - 500), i + 500)` around the first `indexOf(needle)`, or None."""
        if needle not in self._contexts:
            self._contexts[needle] = self._find_context(needle)
        return self._contexts[needle]

    def _find_context(self, needle: str) -> str | None:
        if self._utf16 is None:
            index = self.lower.find(needle)
            if index < 0:
                return None
            return self.lower[max(0, index - self.CONTEXT_UNITS) : index + self.CONTEXT_UNITS]
        encoded = needle.encode("utf-16-le", "surrogatepass")
        position = self._utf16.find(encoded)
        while position >= 0 and position % 2:
            position = self._utf16.find(encoded, position + 1)
        if position < 0:
            return None
        index = position // 2
        window = self._utf16[2 * max(0, index - self.CONTEXT_UNITS) : 2 * (index + self.CONTEXT_UNITS)]
        return window.decode("utf-16-le", "surrogatepass")


class ReferenceCitation:
    """What upstream's scoreCitation reads of a question, prepared once: the first 20 (UTF-16)
    characters of each fact step's note, lowercased, and the gold answer to look for."""

    __slots__ = ("gold", "notes")

    def __init__(self, question: dict[str, Any]):
        self.notes = [
            _utf16_prefix(step["note"].lower(), 20)
            for step in question.get("reasoningChain") or []
            if isinstance(step, dict) and step.get("factId") and isinstance(step.get("note"), str) and step["note"]
        ]
        self.gold = js_string(question.get("goldAnswer", "")).lower()

    def score(self, citation: str, document: ReferenceDocument) -> float:
        """Upstream's scoreCitation: 1.0, 0.5 or 0."""
        if not citation or not js_trim(citation):
            return 0.0
        lowered = citation.lower()
        for note in self.notes:
            if note in lowered:
                return 1.0
        context = document.context_around(self.gold)
        if context is None:
            return 0.0
        tokens = _long_tokens(lowered)
        found = sum(1 for t in tokens if t in context)
        if found >= len(tokens) * 0.5:
            return 1.0
        if found >= len(tokens) * 0.25:
            return 0.5
        return 0.0


def _long_tokens(text: str) -> list[str]:
    """The whitespace-separated tokens of `text` longer than 3, lengths counted in UTF-16 units as
    JavaScript does (only characters beyond the BMP count twice)."""
    if _plain_ascii(text):  # split on single spaces: the empty tokens of runs are too short anyway
        return [t for t in text.split(" ") if len(t) > 3]
    astral = _ASTRAL.search(text) is not None
    return [t for t in _WS_RUN.split(text) if (_utf16_len(t) if astral else len(t)) > 3]


def citation_score(citation: str, question: dict[str, Any], document: ReferenceDocument) -> float:
    """Upstream's scoreCitation: 1.0, 0.5 or 0."""
    return ReferenceCitation(question).score(citation, document)


def ece_bins(confidences: np.ndarray) -> np.ndarray:
    """Upstream's bin of each confidence, -1 for none (1.0 and NaN fall in no bin)."""
    index = np.searchsorted(_ECE_EDGES, confidences, side="right") - 1
    return np.where((index >= 0) & (index < ECE_BINS), index, -1)


def ece(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Upstream's computeECE: sum over bins of |accuracy - mean confidence| weighted by the
    bin's share of *all* samples (unbinned ones included)."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidences.size == 0:
        return 0.0
    bins = ece_bins(confidences)
    binned = bins >= 0
    corr = np.bincount(bins[binned], weights=correct[binned], minlength=ECE_BINS)
    conf = np.bincount(bins[binned], weights=confidences[binned], minlength=ECE_BINS)
    return float(np.abs(corr - conf).sum() / confidences.size)
