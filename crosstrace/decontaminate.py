"""N-gram overlap between the training data we publish and every evaluation set we score on.

    python -m crosstrace.builders decontaminate --folders build/crosstrace build/dacr-traces build/mcq \\
        --dacr-bench ../shared/data/dacr-bench/dacr_bench_v1.1_mini.json --out build/decontamination.json

Training sets are the `train` split of every config in the given built folders; evaluation sets
are their `test*` splits (CrossTrace test and HypoGen test, the MCQ test splits, the engine's test
and held-out-domain splits) and the DACR-Bench files given. A config whose split holds only ids
already listed under another config of the same folder (CrossTrace's per-domain configs inside
`all`) is not compared twice: the report says which config covers it.

Fields compared, each on its own (the text a model is trained on or shown at evaluation):
- rows with `messages` (CrossTrace, engine traces): each message's content (system, user, assistant);
- MCQ rows: `question`, and each option's text;
- DACR-Bench challenges: `document.text`, and each question's `text`.

Method, per n-gram size (13, as lm-evaluation-harness and WildSci use; 8 in the second column):
1. Text is lowercased and split into words (runs of letters and digits, regex `\\w+`). An n-gram
   never crosses a line break, a field or a record, so a label or prompt cannot run into content.
2. Format: a 6-gram is format in a set when it occurs in at least max(`common_min`, `common_share`
   of the records) of its records (system prompts, task instructions, section labels) or in at least
   `common_min` distinct lines (the fixed words of templates whose slots vary: the engine's sentence
   templates, MCQ question stems). The words covered by a format 6-gram of either set of a pair are
   blanked in both sets: a blank breaks the text like a line break, so format can neither match by
   itself nor join content into a match. Lines that are format by declaration (the engine's document
   titles and table captions: see `declared_format_lines`) are blanked whole in every set, and counted per set.
3. An evaluation record is flagged for a training set when it shares one remaining n-gram (that
   is, n consecutive words of content) with any training row of that set.
Flagged records are listed by id, with (up to five of) the ids of the training rows they match:
never their text.

Outputs: the whole report (`--out`), and in every folder given its own part, `decontamination.json`
(the pairs involving that dataset), from which its card's decontamination section is re-rendered
(crosstrace/cards/decontamination.py; publishing checks the two agree).

Why `common_share` defaults to 0.2: hypothesis-matching MCQs show every study of their split in
about twenty questions (9% of a test split's records), and that repeated content must still be
compared; format text is in far more records (prompts and instructions in all of them).
"""

from __future__ import annotations

import hashlib
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crosstrace.cards import decontamination as decontamination_card
from crosstrace.errors import DataError
from crosstrace.hub_folder import read_manifest
from crosstrace.jsonio import dumps

NGRAM_SIZES = (13, 8)
# Format (prompts, labels, template words) is found as shared 6-grams: short enough to catch the
# fixed words between a template's slots, long enough not to be ordinary phrasing in most texts.
FORMAT_SIZE = 6
FIELDS_COMPARED = {
    "messages": "each message's content (system, user, assistant), each on its own",
    "mcq": "question, and each option's text, each on its own",
    "dacr-bench": "document.text, and each question's text, each on its own",
}
DEFAULT_COMMON_SHARE = 0.2
DEFAULT_COMMON_MIN = 5
_WORD = re.compile(r"\w+")
# A template's {slot}, and how it is marked while the template is split into words.
_SLOT, _SLOT_MARK = re.compile(r"\{(\w+)\}"), "crosstraceslot"
_SLOT_IN_WORD = re.compile(rf"{_SLOT_MARK}(\w+?){_SLOT_MARK}")
_BREAK = -1  # word id of a line, field or record boundary, and of a blanked word
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant of the polynomial n-gram hash
# Matching training ids listed per flagged record: enough to find the pair, short enough to read.
_MATCHES_LISTED = 5


@dataclass
class TextSet:
    """Records of one dataset/config/split (or one DACR-Bench file): each a list of compared fields."""

    name: str
    fields: str
    ids: list[str] = field(default_factory=list)
    records: list[list[str]] = field(default_factory=list)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def common_threshold(records: int, common_share: float, common_min: int) -> int:
    """Records an n-gram must appear in to count as shared format rather than content."""
    return max(common_min, math.ceil(common_share * records))


def _template_pattern(template: str, slots: dict[str, str]) -> str:
    """A regular expression over normalised words (see `words`) matching `template` with its {slots} filled."""
    marked = _SLOT.sub(lambda slot: f"{_SLOT_MARK}{slot.group(1).lower()}{_SLOT_MARK}", template)
    tokens = []
    for word in words(marked):  # a slot may sit inside a word: "[P{index}]" is the word "p7"
        parts = _SLOT_IN_WORD.split(word)  # literal, slot name, literal, ..., literal
        tokens.append("".join(slots[part] if index % 2 else re.escape(part) for index, part in enumerate(parts)))
    return " ".join(tokens)


def declared_format_lines() -> re.Pattern:
    """Lines that are format by declaration: the challenge engine's document titles and table captions
    (`crosstrace.engine.document.format_line_templates`), matched on the normalised words of a whole
    line. Their slots take few values (the number of entities, six to nine in practice; two of a
    domain's attribute labels), so different documents repeat them word for word, yet each is in a
    few percent of a set's records and a handful of distinct lines: the statistical rule cannot see them."""
    from crosstrace.engine.document import format_line_templates
    from crosstrace.engine.domains import DOMAIN_SPECS

    alternatives = set()
    for domain in DOMAIN_SPECS.values():
        label = "|".join(sorted(re.escape(" ".join(words(a.label))) for a in (*domain.numerics, *domain.categoricals)))
        slots = {
            "n": r"\w+(?: \w+){0,2}",  # the number of entities, in words ("seven", "twenty one") or digits
            "id": r"\w+",  # a table's number: 1, S1
            "index": r"\d+",  # a paragraph's number
            "labels": rf"(?:{label})(?: (?:and )?(?:{label}))*",  # the tabulated attributes' labels, joined
        }
        alternatives.update(_template_pattern(template, slots) for template in format_line_templates(domain))
    return re.compile("|".join(f"(?:{pattern})" for pattern in sorted(alternatives)))


class _Encoded:
    """One set as a flat array of word ids, `_BREAK` between lines, fields and records, with the
    record and the distinct line each position belongs to; n-gram hashes are computed with numpy.
    Lines matching `format_lines` become a single break (`format_lines_blanked` counts them)."""

    def __init__(self, text_set: TextSet, vocabulary: dict[str, int], format_lines: re.Pattern):
        ids, owners, lines = array("q"), array("q"), array("q")
        distinct: dict[str, int] = {}
        self.format_lines_blanked = 0
        for record, fields in enumerate(text_set.records):
            for text in fields:
                for line in text.split("\n"):
                    line_words = words(line)
                    if format_lines.fullmatch(" ".join(line_words)):
                        self.format_lines_blanked += 1
                        line_words = []
                    tokens = [vocabulary.setdefault(word, len(vocabulary)) for word in line_words]
                    ids.extend(tokens)
                    ids.append(_BREAK)
                    owners.extend([record] * (len(tokens) + 1))
                    lines.extend([distinct.setdefault(line, len(distinct))] * (len(tokens) + 1))
        self.set = text_set
        self.words = np.frombuffer(ids, dtype=np.int64)
        self.owner = np.frombuffer(owners, dtype=np.int64)
        self.line = np.frombuffer(lines, dtype=np.int64)
        self._content: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}

    def grams(self, n: int, word_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(start positions, hashes) of every n-gram free of breaks."""
        word_ids = self.words if word_ids is None else word_ids
        breaks = np.concatenate([[0], np.cumsum(word_ids < 0)])
        starts = np.flatnonzero(breaks[n:] == breaks[: len(breaks) - n]) if len(word_ids) >= n else np.arange(0)
        hashes = np.zeros(len(starts), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(n):
                hashes = hashes * _MULTIPLIER + (word_ids[starts + offset].astype(np.uint64) + np.uint64(1))
        return starts, hashes

    def format_grams(self, k: int, common_share: float, common_min: int) -> np.ndarray:
        """Sorted hashes of this set's format k-grams: in at least max(common_min, common_share of the
        records) records (prompts, instructions), or in at least common_min distinct lines (the fixed
        words of templates whose slots vary). Content repeated verbatim (a study shown in twenty MCQs,
        one option reused) stays one distinct line, so it is not format."""
        starts, hashes = self.grams(k)

        def spread(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            order = np.lexsort((owner[starts], hashes))
            gram, who = hashes[order], owner[starts][order]
            first = np.concatenate([[True], (gram[1:] != gram[:-1]) | (who[1:] != who[:-1])])
            return np.unique(gram[first], return_counts=True)

        grams, records = spread(self.owner)
        by_records = grams[records >= common_threshold(len(self.set.ids), common_share, common_min)]
        grams, lines = spread(self.line)
        return np.union1d(by_records, grams[lines >= common_min])

    def content(self, n: int, k: int, format_grams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, records) of the n-grams left once the words covered by format k-grams are blanked."""
        starts, hashes = self.grams(k)
        covered = np.isin(hashes, format_grams)
        key = (n, hashlib.sha256(np.unique(hashes[covered]).tobytes()).digest())
        if key not in self._content:
            coverage = np.zeros(len(self.words) + 1, dtype=np.int64)
            np.add.at(coverage, starts[covered], 1)
            np.add.at(coverage, starts[covered] + k, -1)
            blanked = np.where(np.cumsum(coverage[:-1]) > 0, _BREAK, self.words)
            kept_starts, kept = self.grams(n, blanked)
            self._content[key] = (kept, self.owner[kept_starts])
        return self._content[key]


def _flagged(train: tuple[np.ndarray, np.ndarray], evaluation: tuple[np.ndarray, np.ndarray]) -> dict[int, list[int]]:
    """{evaluation record: training records} sharing at least one content n-gram."""
    train_hashes, train_records = train
    eval_hashes, eval_records = evaluation
    shared = np.isin(eval_hashes, train_hashes)
    if not shared.any():
        return {}
    order = np.argsort(train_hashes, kind="stable")
    sorted_hashes, sorted_records = train_hashes[order], train_records[order]
    matches: dict[int, set[int]] = defaultdict(set)
    for gram, record in sorted(set(zip(eval_hashes[shared].tolist(), eval_records[shared].tolist(), strict=True))):
        if len(matches[record]) >= _MATCHES_LISTED:
            continue
        low = np.searchsorted(sorted_hashes, np.uint64(gram), side="left")
        high = np.searchsorted(sorted_hashes, np.uint64(gram), side="right")
        matches[record].update(sorted_records[low:high].tolist())
    return {record: sorted(found) for record, found in sorted(matches.items())}


def _overlap(
    train_encoded: list[_Encoded], eval_encoded: list[_Encoded], n: int, formats: dict[int, np.ndarray]
) -> dict[tuple[str, str], dict[str, list[str]]]:
    """{(training set, evaluation set): {flagged evaluation id: matching training ids}} for n-grams of size n."""
    results = {}
    for train in train_encoded:
        for test in eval_encoded:
            format_grams = np.union1d(formats[id(train)], formats[id(test)])
            found = _flagged(train.content(n, FORMAT_SIZE, format_grams), test.content(n, FORMAT_SIZE, format_grams))
            results[(train.set.name, test.set.name)] = {
                test.set.ids[record]: sorted({train.set.ids[r] for r in matches})[:_MATCHES_LISTED]
                for record, matches in found.items()
            }
    return results


def row_fields(row: dict[str, Any], where: str) -> tuple[list[str], str]:
    """(compared fields, kind of fields) for one row of a built folder."""
    if row.get("messages"):
        return [str(message.get("content") or "") for message in row["messages"]], "messages"
    if row.get("question") is not None and row.get("options") is not None:
        options = row["options"]
        values = options.values() if isinstance(options, dict) else options
        return [str(row["question"]), *(str(value) for value in values if value is not None)], "mcq"
    raise DataError(where, None, "messages", "row has neither `messages` nor `question` + `options` to compare")


def folder_sets(folder: Path) -> Iterator[tuple[str, str, TextSet]]:
    """(config, split, set) for every train and test* split of a built dataset folder."""
    import pyarrow.parquet as pq

    from crosstrace.hub_folder import local_split_files

    manifest = read_manifest(folder)
    for config, splits in manifest["counts"].items():
        for split in splits:
            if split != "train" and not split.startswith("test"):
                continue
            text_set = TextSet(f"{manifest['name']}/{config}/{split}", "")
            for path in local_split_files(folder, config, split):
                for index, row in enumerate(pq.read_table(path).to_pylist()):
                    fields, kind = row_fields(row, f"{path} row {index}")
                    text_set.fields = kind
                    text_set.ids.append(str(row.get("id") or f"{config}/{split}/{index}"))
                    text_set.records.append(fields)
            yield config, split, text_set


def dacr_bench_set(path: Path) -> TextSet:
    from crosstrace.sources.dacr_bench import load_benchmark

    bench = load_benchmark(path)
    text_set = TextSet(f"dacr-bench/{path.name}", "dacr-bench")
    for challenge in bench.challenges:
        text_set.ids.append(challenge["challengeId"])
        text_set.records.append([challenge["document"]["text"], *(q["text"] for q in challenge["questions"])])
    return text_set


def collect_sets(folders: Iterable[Path], dacr_bench: Iterable[Path]) -> tuple[list[TextSet], list[TextSet], dict]:
    """Training sets, evaluation sets, and {skipped set: the set that covers it}."""
    training, evaluation, covered = [], [], {}
    for folder in folders:
        seen: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
        for _config, split, text_set in folder_sets(Path(folder)):
            ids = set(text_set.ids)
            cover = next((name for name, listed in seen[split] if ids <= listed), None)
            if cover is not None:
                covered[text_set.name] = cover
                continue
            seen[split].append((text_set.name, ids))
            (training if split == "train" else evaluation).append(text_set)
    evaluation.extend(dacr_bench_set(Path(path)) for path in dacr_bench)
    return training, evaluation, covered


def _set_summary(encoded: _Encoded) -> dict[str, Any]:
    return {
        "records": len(encoded.set.ids),
        "fields": encoded.set.fields,
        "format_lines_blanked": encoded.format_lines_blanked,
    }


def report(
    training: list[TextSet],
    evaluation: list[TextSet],
    covered: dict,
    common_share: float = DEFAULT_COMMON_SHARE,
    common_min: int = DEFAULT_COMMON_MIN,
) -> dict[str, Any]:
    """The whole report: settings, sets, and per pair the flagged count and ids at each n-gram size."""
    vocabulary: dict[str, int] = {}  # one word numbering for all sets, so their n-gram hashes compare
    format_lines = declared_format_lines()
    train_encoded = [_Encoded(text_set, vocabulary, format_lines) for text_set in training]
    eval_encoded = [_Encoded(text_set, vocabulary, format_lines) for text_set in evaluation]
    formats = {id(e): e.format_grams(FORMAT_SIZE, common_share, common_min) for e in train_encoded + eval_encoded}
    by_size = {n: _overlap(train_encoded, eval_encoded, n, formats) for n in NGRAM_SIZES}
    pairs = []
    for train_set in training:
        for eval_set in evaluation:
            key = (train_set.name, eval_set.name)
            entry = {"training": train_set.name, "evaluation": eval_set.name, "evaluation_records": len(eval_set.ids)}
            for n in NGRAM_SIZES:
                entry[f"flagged_{n}gram"] = len(by_size[n][key])
                entry[f"flagged_{n}gram_ids"] = by_size[n][key]
            pairs.append(entry)
    return {
        "ngram_sizes": list(NGRAM_SIZES),
        "normalisation": "lowercase; words are runs of letters and digits (regex \\w+); "
        "no n-gram crosses a line break, a field or a record",
        "fields_compared": FIELDS_COMPARED,
        "format_ngrams_blanked": f"{FORMAT_SIZE}-grams in >= max({common_min}, {common_share:.0%} of the records) "
        f"or in >= {common_min} distinct lines of either set of a pair (the words they cover, in both sets)",
        "format_lines_blanked": "whole lines that are a challenge-engine document title or table caption (templates "
        "whose slots are the number of entities, a table number, attribute labels; how many per set: training_sets "
        "and evaluation_sets)",
        "training_sets": {e.set.name: _set_summary(e) for e in train_encoded},
        "evaluation_sets": {e.set.name: _set_summary(e) for e in eval_encoded},
        "not_compared_twice": covered,
        "pairs": pairs,
    }


@dataclass
class DecontaminateArguments:
    """`python -m crosstrace.builders decontaminate`: the n-gram overlap of the built training sets with
    every evaluation set."""

    folders: list[Path] = field(default_factory=list, metadata={"help": "built dataset folders to compare"})
    dacr_bench: list[Path] = field(
        default_factory=list, metadata={"help": "DACR-Bench files scored on (evaluation sets)"}
    )
    out: Path = field(default=Path("build/decontamination_card.json"), metadata={"help": "the JSON report"})
    common_share: float = field(
        default=DEFAULT_COMMON_SHARE, metadata={"help": "share of a set's records that makes an n-gram format"}
    )
    common_min: int = field(
        default=DEFAULT_COMMON_MIN, metadata={"help": "fewest records (or distinct lines) that make an n-gram format"}
    )

    def __post_init__(self):
        if not self.folders:
            raise ValueError("--folders: give at least one built dataset folder")


def run(args: DecontaminateArguments) -> int:
    datasets = {}
    for folder in args.folders:
        decontamination_card.check_markers(folder)  # before minutes of counting, not after
        datasets[read_manifest(folder)["name"]] = (Path(folder), decontamination_card.data_digest(folder))
    training, evaluation, covered = collect_sets(args.folders, args.dacr_bench)
    result = report(training, evaluation, covered, args.common_share, args.common_min)
    result = {"datasets": {name: digest for name, (_, digest) in datasets.items()}, **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, (folder, digest) in datasets.items():
        decontamination_card.write(folder, decontamination_card.for_dataset(result, name, digest))
        print(f"wrote {folder / decontamination_card.REPORT_NAME} and the card's decontamination section")
    print(decontamination_card.markdown_table(result), end="")
    return 0
