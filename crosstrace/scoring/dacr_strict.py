"""The project's strict DACR answer rule (`mode="strict"`, the default), versioned.

    from crosstrace.scoring.dacr_strict import StrictGold
    gold = StrictGold(question)              # prepared once per question
    gold.match("12 datasets")                 # (True, "value")
    gold.assess(answer, *trap_targets(trap))  # (correct, rule, trap side)

An answer is correct when it matches ONE of the gold forms (the gold answer or an alias):

1. **empty is wrong** ("empty"); an answer equal to a form after folding (case, spacing, outer
   punctuation, one leading article: `folding.exact_form`) is correct ("exact"/"alias").
2. **Values.** When the gold forms state values, the answer's values are read and compared as
   `quantities` defines (numbers, units, percent, dates, number words; within the gold's
   precision, never more than 5% away). The values the question itself states are left out
   when the answer states others (an answer made only of the question's values asserts all of
   them: echoing options is hedging).
   - An answer that asserts no value does not match a form with values ("no_value").
   - Every value the answer asserts must match some gold value of some form: an answer that
     asserts several different candidate values ("12 or 15", every number of the document) is
     wrong ("foreign_value").
   - Correct ("value") when every gold value of a form is matched; else wrong ("missing_value").
   - A form that also states words the question does not contain (e.g. "outer tube" in
     "outer tube; 1.6×10⁻⁶ e/Å³") needs at least two thirds of those words in the answer
     (one-letter variable names such as the n of "n=14" excepted), else "text_mismatch".
3. **Traps** (`trap_targets`). An answer that asserts a trap's planted value (read with that
   value's own precision) is wrong, even where it would round to the gold ("trap_value"), and
   "fell"; an answer that is correct, or asserts the authoritative value, "evaded". A trap whose
   planted value equals its correct value (a known data defect) cannot tell the two apart: no side.
4. **Text.** For forms without values: token F1 >= 0.8 between the answer's and the form's
   content words (`folding.content_words`: lowercased, accents and Greek letters folded,
   articles and stopwords dropped), with a guard against padding: token precision must also be
   >= 0.8, after ignoring answer words that merely restate the question (but not the names the
   question lists, such as its options E1, E2, E3: naming several of them is hedging), and the
   answer must contain a word of the form that the question does not (echoing the question is
   wrong) ("text_f1", else "text_mismatch"). "Meso valve or Thermo merge" is wrong for gold
   "Meso valve"; "the meso valve" is right.

Each question's gold is also given an answer format (`ANSWER_FORMATS`, for the breakdowns):
one value ("numeric"), several values or values with words ("composite"), a name of at most
four words ("short_text"), a longer text ("long_text").

Change STRICT_VERSION whenever a rule changes (here, in `quantities` or in `folding`): numbers
under different versions are not comparable.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from crosstrace.scoring.dacr_reference import js_string
from crosstrace.scoring.folding import ARTICLES, STOPWORDS, WORD, content_words, exact_form, fold, words
from crosstrace.scoring.quantities import (
    Quantity,
    blank_quantities,
    matches_any,
    parse_quantities,
    scan_quantities,
    value_matches,
)

STRICT_VERSION = "crosstrace-dacr-strict-1.0"

TEXT_F1_THRESHOLD = 0.8
TEXT_PRECISION_THRESHOLD = 0.8


def trap_targets(trap: dict[str, Any] | None) -> tuple[ValueTarget | None, ValueTarget | None]:
    """(planted value, authoritative value) of the trap a question targets, for
    `StrictGold.assess`; (None, None) without a trap, or when the two values are the same
    text (as upstream would write them): such a trap cannot tell evasion from falling."""
    if trap is None or js_string(trap.get("correctValue")) == js_string(trap.get("wrongValue")):
        return None, None
    return ValueTarget(trap.get("wrongValue")), ValueTarget(trap.get("correctValue"))


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
            self._tokens = WORD.findall(fold(self.text))
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


def _entity_words(text: str) -> frozenset[str]:
    """Folded words written as names in `text`: with a digit, all capitals, or a capital letter
    other than at the start of a sentence."""
    names = set()
    for match in WORD.finditer(text):
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
