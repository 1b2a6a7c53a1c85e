"""Strict citation score: does the citation point to the paragraph that holds the gold fact?

    index = EvidenceIndex(challenge)            # once per challenge
    index.score(citation, question)             # 1.0, 0.5, 0.0, or None (not scorable)

Definition (part of the strict scoring version):

- **Evidence paragraphs** of a question are the document paragraphs (blank-line separated,
  counted from 0 as DACR-Bench's `paragraphIndex` does) that hold the facts its reasoning chain
  uses (`factId`s, plus the trap's target fact for a trap question). A fact is located by its
  `contextQuote`: the paragraph containing it, else the paragraph holding at least 60% of the
  quote's words; the recorded `paragraphIndex` is not trusted (in the real documents of the
  mini set it rarely points at the quote). A question whose chain names no fact (engine
  questions) takes the paragraphs that mention its gold answer, when that answer is a name of
  four characters or more. No evidence paragraph -> the question is not scorable (None).
- A citation **points** at a paragraph when it names its number ("paragraph 7", "paras. 3, 7
  and 9", "¶ 4-5", "paragraph_7", "[P7]"; 0-based and 1-based counting are both accepted because
  the prompt does not number paragraphs), or when it quotes or paraphrases it: at least 3 content words, of
  which at least 60% occur in that paragraph and in no paragraph more often.
- Score 1.0 when it points at an evidence paragraph; else 0.0 when it points at the paragraph
  holding a trap's planted text (citing the planted value is the failure the benchmark tests);
  else 0.5 when it names the section of an evidence fact (e.g. "Abstract", "Methods"); else 0.0.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from typing import Any

from crosstrace.scoring.folding import STOPWORDS, WORD, exact_form, fold
from crosstrace.scoring.quantities import parse_quantities

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# "paragraph 7", "paras. 3, 7 and 9", "¶ 4-5", "paragraph_7", "[P12]"
_PARAGRAPH_NUMBERS = re.compile(
    r"(?:\bparagraphs?|\bparas?\.?|¶|\bparagraph_|\bp_)\s*#?\s*(\d{1,5}(?:\s*(?:,|and|&|-|–|to)\s*\d{1,5})*)|\[P(\d{1,5})\]",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"(\d{1,5})(?:\s*(?:-|–|to)\s*(\d{1,5}))?")
MAX_RANGE = 20
QUOTE_RECALL = 0.6
MIN_QUOTE_WORDS = 3
# Section labels that say nothing about where a fact is.
_UNINFORMATIVE_SECTIONS = {"", "generated_prose", "injected", "document", "text", "body"}


def _content(text: str) -> set[str]:
    """The distinct content words of `text`, folded (stopwords and one-letter words dropped)."""
    return {w for w in WORD.findall(fold(text)) if w not in STOPWORDS and len(w) > 1}


def paragraph_numbers(citation: str) -> set[int]:
    """Paragraph numbers a citation names, ranges expanded ("4-6" -> 4, 5, 6; at most 20)."""
    numbers: set[int] = set()
    for listed, bracketed in _PARAGRAPH_NUMBERS.findall(citation):
        if bracketed:
            numbers.add(int(bracketed))
        for first, last in _LIST_ITEM.findall(listed):
            start, end = int(first), int(last or first)
            numbers.update(range(start, end + 1) if 0 <= end - start <= MAX_RANGE else (start, end))
    return numbers


def _mask(paragraphs: set[int]) -> int:
    """Paragraph indices as the bits of one int (bit i: paragraph i)."""
    mask = 0
    for index in paragraphs:
        mask |= 1 << index
    return mask


def _indices(mask: int) -> set[int]:
    """The paragraph indices of a bit mask."""
    paragraphs = set()
    while mask:  # usually one or two bits: read them off lowest first
        lowest = mask & -mask
        paragraphs.add(lowest.bit_length() - 1)
        mask ^= lowest
    return paragraphs


def _highest_count(masks: list[int]) -> tuple[int, int]:
    """(the highest count, the paragraphs that have it as a bit mask), counting per paragraph
    how many of `masks` (one per word: bit i set when paragraph i holds the word) include it."""
    # For all paragraphs at once: a binary counter whose digit j is the int planes[j] (bit i of
    # it: digit j of paragraph i's count). Adding a word's paragraphs is a ripple-carry addition.
    planes: list[int] = []
    for carry in masks:
        for j, plane in enumerate(planes):
            planes[j], carry = plane ^ carry, plane & carry
            if not carry:
                break
        else:
            planes.append(carry)
    # From the top digit down, keep the paragraphs with that digit set whenever any of those
    # still kept have it.
    best, winners = 0, -1
    for j in range(len(planes) - 1, -1, -1):
        narrowed = winners & planes[j]
        if narrowed:
            best, winners = best | (1 << j), narrowed
    return best, winners


class EvidenceIndex:
    """A challenge's paragraphs, an inverted word index, and where its facts and traps sit.

    Sets of paragraphs are held as bit masks (bit i: paragraph i) where citations are scored:
    what a citation points at is compared with a question's evidence with one `&`."""

    def __init__(self, challenge: dict[str, Any]):
        document = challenge.get("document") or {}
        text = document.get("text") if isinstance(document.get("text"), str) else ""
        self.paragraphs = _PARAGRAPH_BREAK.split(text)
        self._folded = [" ".join(p.split()).lower() for p in self.paragraphs]
        self._accent_folded = [fold(p) for p in self._folded]
        # Each content word's paragraphs as one mask, so that counting which paragraphs hold
        # the most words of a quote is a few integer operations.
        self._word_bits: dict[str, int] = {}
        for index, paragraph in enumerate(self._accent_folded):
            bit = 1 << index
            for word in {w for w in WORD.findall(paragraph) if w not in STOPWORDS and len(w) > 1}:
                self._word_bits[word] = self._word_bits.get(word, 0) | bit
        self._facts = {f.get("factId"): f for f in challenge.get("facts") or [] if isinstance(f, dict)}
        self._fact_paragraphs: dict[Any, set[int]] = {}
        self._evidence: dict[Any, tuple[set[int], int, re.Pattern[str] | None]] = {}
        self.trap_paragraphs: set[int] = set()
        self.traps = {t.get("trapId"): t for t in challenge.get("traps") or [] if isinstance(t, dict)}
        for trap in self.traps.values():
            location = trap.get("trapLocation") or {}
            self.trap_paragraphs |= self.locate(location.get("injectedText") or "")
        self._trap_mask = _mask(self.trap_paragraphs)

    def locate(self, quote: str) -> set[int]:
        """Paragraphs containing `quote` verbatim (spacing and case folded), else the best word match."""
        folded = " ".join(str(quote).split()).lower()
        if len(folded) < 12:
            return set()
        probe = folded[:80]
        exact = {i for i, paragraph in enumerate(self._folded) if probe in paragraph}
        if exact:
            return exact
        return _indices(self._best_by_words(_content(quote)))

    def _best_by_words(self, words: set[str]) -> int:
        """The paragraphs (a mask) holding the most of `words`, when that is at least 60% of them."""
        if len(words) < MIN_QUOTE_WORDS:
            return 0
        needed = math.ceil(QUOTE_RECALL * len(words))
        present = list(filter(None, map(self._word_bits.get, words)))
        if len(present) < needed:
            return 0  # too few of the words are in the document at all
        common = functools.reduce(operator.and_, present)
        if common:  # the usual case (a quote of one paragraph): these hold every word there is
            best, winners = len(present), common
        else:
            best, winners = _highest_count(present)
        return winners if best >= needed else 0

    def _fact_location(self, fact_id: Any) -> set[int]:
        if fact_id not in self._fact_paragraphs:
            fact = self._facts.get(fact_id) or {}
            location = fact.get("location") or {}
            self._fact_paragraphs[fact_id] = self.locate(location.get("contextQuote") or "")
        return self._fact_paragraphs[fact_id]

    def evidence(self, question: dict[str, Any]) -> tuple[set[int], re.Pattern[str] | None]:
        """(evidence paragraph indices, a pattern finding the evidence facts' section names)."""
        paragraphs, _, sections = self._question_evidence(question)
        return paragraphs, sections

    def _question_evidence(self, question: dict[str, Any]) -> tuple[set[int], int, re.Pattern[str] | None]:
        """`evidence` with the paragraphs also as a mask, cached per question id."""
        key = question.get("questionId")
        found = self._evidence.get(key)
        if found is None:
            paragraphs, sections = self._find_evidence(question)
            found = self._evidence[key] = (paragraphs, _mask(paragraphs), sections)
        return found

    def _find_evidence(self, question: dict[str, Any]) -> tuple[set[int], re.Pattern[str] | None]:
        fact_ids = [
            s.get("factId") for s in question.get("reasoningChain") or [] if isinstance(s, dict) and s.get("factId")
        ]
        trap = self.traps.get(question.get("targetsTrap"))
        if trap and trap.get("targetFactId"):
            fact_ids.append(trap["targetFactId"])
        paragraphs: set[int] = set()
        sections: set[str] = set()
        for fact_id in fact_ids:
            paragraphs |= self._fact_location(fact_id)
            section = str(((self._facts.get(fact_id) or {}).get("location") or {}).get("section") or "")
            if section.strip().lower() not in _UNINFORMATIVE_SECTIONS:
                sections.add(section.strip())
        if not fact_ids:
            gold = question.get("goldAnswer")
            if isinstance(gold, str) and len(gold.strip()) >= 4 and not parse_quantities(gold):
                needle = exact_form(gold)
                paragraphs = {i for i, paragraph in enumerate(self._accent_folded) if needle in paragraph}
        names = "|".join(re.escape(section.lower()) for section in sorted(sections))
        return paragraphs, (re.compile(rf"\b(?:{names})\b") if names else None)

    def pointed_paragraphs(self, citation: str) -> set[int]:
        """The paragraphs `citation` points at (by number, or by quoting or paraphrasing them)."""
        return _indices(self._pointed(citation))

    def _pointed(self, citation: str) -> int:
        pointed = self._best_by_words(_content(citation))
        lowered = citation.lower()
        # A substring test first: the paragraph-number pattern is costly on every citation.
        if "para" in lowered or "¶" in lowered or "p_" in lowered or "[p" in lowered:
            count = len(self.paragraphs)
            for number in paragraph_numbers(citation):  # 0-based or 1-based: both count
                if 0 <= number < count:
                    pointed |= 1 << number
                if 1 <= number <= count:
                    pointed |= 1 << (number - 1)
        return pointed

    def score(
        self, citation: str, question: dict[str, Any], pointed_memo: dict[str, int] | None = None
    ) -> float | None:
        """The citation's score for `question`. `pointed_memo` (citation -> the mask of paragraphs
        it points at) lets a caller share that reading among the questions of one document."""
        evidence, evidence_mask, sections = self._question_evidence(question)
        if not evidence:
            return None
        if not citation or not citation.strip():
            return 0.0
        pointed = pointed_memo.get(citation) if pointed_memo is not None else None
        if pointed is None:
            pointed = self._pointed(citation)
            if pointed_memo is not None:
                pointed_memo[citation] = pointed
        if pointed & evidence_mask:
            return 1.0
        if pointed & self._trap_mask:
            return 0.0
        if sections is not None and sections.search(citation.lower()):
            return 0.5
        return 0.0
