"""English number words: the one table the challenge engine writes numbers with and the scorer reads them back by.

number_words(469)          # "four hundred and sixty-nine" (0-999; None outside)
WORD_VALUES["forty"]       # 40; every word a spelt-out number is made of, scales included
"""

from __future__ import annotations

ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")  # by tens digit
HUNDRED = "hundred"
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
WORD_VALUES = {
    **{word: n for n, word in enumerate(ONES)},
    **{word: 10 * n for n, word in enumerate(TENS) if word},
    HUNDRED: 100,
    **SCALES,
}


def number_words(n: int) -> str | None:
    """English words for 0-999 ("forty-two", "one hundred and five"); None outside that range."""
    if not 0 <= n <= 999:
        return None
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    head = f"{ONES[hundreds]} {HUNDRED}"
    return head if not rest else f"{head} and {number_words(rest)}"
