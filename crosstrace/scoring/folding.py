"""Text folding and word tokens for the strict DACR rules (answers, gold forms, citations).

- `fold(text)`: lowercase, Greek letters spelled out (α -> alpha, µ and μ -> mu), dashes unified,
  accents and compatibility forms removed (NFKD, combining marks dropped);
- `words(text)`: the word tokens of the folded text, articles (a, an, the) dropped;
- `content_words(text)`: the same, with STOPWORDS dropped too;
- `exact_form(text)`: the form the exact rule compares: folded, spacing collapsed, outer
  punctuation and one leading article removed.

Tokenization uses the word pattern of nltk's `wordpunct_tokenize` (`\\w+|[^\\w\\s]+`, which needs
no downloaded data) through a precompiled `re` pattern, punctuation tokens dropped: nltk 3.10
wraps every call in a timeout guard that costs ~50 µs per short answer (measured), too slow for
100k answers.
"""

from __future__ import annotations

import re
import unicodedata

# The word tokens of nltk's wordpunct_tokenize (pattern \w+|[^\w\s]+, punctuation tokens dropped).
WORD = re.compile(r"\w+")
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
    return [w for w in WORD.findall(fold(text)) if w not in ARTICLES]


def content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(fold(text)) if w not in STOPWORDS]


def exact_form(text: str) -> str:
    """Folding for the exact rule: case, spacing, outer punctuation and one leading article."""
    # str.split() splits on the characters `\s` matches (str.isspace): the same as
    # re.sub(r"\s+", " ", ...) before the strip, without a regex call per space.
    text = " ".join(fold(text).split()).strip(_EXACT_STRIP)
    for article in ("the ", "a ", "an "):
        if text.startswith(article):
            return text[len(article) :].strip(_EXACT_STRIP)
    return text
