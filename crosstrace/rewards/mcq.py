"""The MCQ letter reward and the per-epoch option reshuffle (WildSci's RL recipe).

Reward `mcq_letter` (column `answer`, the gold letter A-J): 1.0 when the completion commits to
the gold letter under the project's final-letter extraction (`crosstrace.scoring.mcq`, the rule
`evaluate.py` scores with), else 0.0. Degenerate, hence 0.0: no letter, several letters in the
answer statement ("A or C"), a run of letters ("A B C D", "A. B. C."), and a letter buried in a
list of options (two or more lines opening with different option letters, the last of them
ending the completion: the shape of the options echoed back). A constant letter is not
degenerate by this definition: it earns chance (1/10 on ten options whose gold letters are
uniform, which `reshuffle_options` makes them). None on rows without an `answer`.

`reshuffle_options` permutes a question's options with a seed and remaps its gold letter, so a
model cannot learn a letter prior; `reshuffled_epochs` pre-builds one reshuffle per epoch
(TRL has no per-epoch dataset hook).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from crosstrace.rewards.base import column, text_of
from crosstrace.rewards.scorer import LETTERS, extract_letter

_LETTER_RUN = re.compile(rf"^[\W_]*[{LETTERS}](?:[\W_]+[{LETTERS}])+[\W_]*$")
_LISTED_LINE = re.compile(rf"^\s*[\(\[\*]*([{LETTERS}])[\)\]\*]*(?:[.):\-]|\s*$)")


def _buried_in_a_list(text: str) -> bool:
    lines = [line for line in text.strip().split("\n") if line.strip()]
    listed = [m.group(1) for m in map(_LISTED_LINE.match, lines) if m]
    return len(set(listed)) >= 2 and bool(lines) and _LISTED_LINE.match(lines[-1]) is not None


def letter_reward(text: str, gold: str) -> float:
    """1.0 when `text` commits to the letter `gold` and is not a list of letters, else 0.0."""
    if _LETTER_RUN.match(text.strip()) or _buried_in_a_list(text):
        return 0.0
    return 1.0 if extract_letter(text) == gold.strip().upper() else 0.0


def mcq_letter(prompts, completions, **columns) -> list[float | None]:
    """1.0 for the gold letter (column `answer`) under the final-letter extraction, else 0.0; None without `answer`."""
    golds = column(columns, "answer", len(completions))
    return [
        None if not isinstance(gold, str) else letter_reward(text_of(completion), gold)
        for completion, gold in zip(completions, golds, strict=True)
    ]


def _permutation(n: int, seed: int, key: str) -> list[int]:
    import numpy as np

    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little")).permutation(n).tolist()


def reshuffle_options(record: dict[str, Any], seed: int) -> dict[str, Any]:
    """`record` (WildSci format: `options` letter -> text, `answer` a letter) with its options in a
    seeded order and the gold letter remapped. The order depends on the seed and the question
    text only, so the same epoch seed gives the same order wherever the row sits."""
    options = {letter: text for letter, text in record["options"].items() if text is not None}
    letters = "".join(sorted(options))
    order = _permutation(len(letters), seed, record["question"])
    shuffled = {LETTERS[new]: options[letters[old]] for new, old in enumerate(order)}
    answer = LETTERS[order.index(letters.index(record["answer"]))]
    padding = {letter: None for letter in record["options"] if letter not in shuffled}
    return {**record, "options": {**shuffled, **padding}, "answer": answer}


def epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1000 + epoch


def reshuffled_epochs(dataset, epochs: int, seed: int):
    """`epochs` copies of an MCQ dataset, copy e with its options reshuffled by `epoch_seed(seed, e)`."""
    from datasets import concatenate_datasets

    copies = [
        dataset.map(reshuffle_options, fn_kwargs={"seed": epoch_seed(seed, e)}, desc=f"reshuffling options, epoch {e}")
        for e in range(epochs)
    ]
    return concatenate_datasets(copies)
