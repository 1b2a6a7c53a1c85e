"""N-gram overlap between the training data we publish and every evaluation set we score on.

    python -m crosstrace.builders decontaminate --folders build/crosstrace build/dacr-traces build/mcq \\
        --dacr-bench ../shared/data/dacr-bench/dacr_bench_v1.1_mini.json \\
        --out build/decontamination.json --card-table crosstrace/cards/decontamination.md

Training sets are the `train` split of every config in the given built folders; evaluation sets
are their `test*` splits (CrossTrace test and HypoGen test, the MCQ test splits, the engine's test
and held-out-domain splits) and the DACR-Bench files given. A config whose split holds only ids
already listed under another config of the same folder (CrossTrace's per-domain configs inside
`all`) is not compared twice: the report says which config covers it.

Fields compared (the text a model is trained on or shown at evaluation):
- rows with `messages` (CrossTrace, engine traces): every message's content, system prompt included;
- MCQ rows: `question` and every option's text;
- DACR-Bench challenges: `document.text` and every question's `text`.

Text is lowercased and split into words (runs of letters and digits, as lm-evaluation-harness's
decontamination normalises it); an evaluation record is flagged for a training set when they share
one 13-gram (lm-evaluation-harness and WildSci use 13) or, in the second column, one 8-gram.
N-grams that a set's records commonly share are dropped first, in each set separately: anything in
at least `common_share` of a set's records and in at least `common_min` of them (the system
prompt, section labels, the engine's sentence templates), so a match is content, not format.
Flagged records are listed by id, with the ids of the training rows they match: never their text.

Known limit: common n-grams are dropped, not the text they cover, so an n-gram running from the
shared system prompt (or an engine sentence template) into a record's first words still counts. On
the real release this over-flags CrossTrace test (55 of 107) and every engine split; the fix is to
mask the words covered by common n-grams and count n-grams within each field only.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError
from crosstrace.jsonio import dumps

NGRAM_SIZES = (13, 8)
FIELDS_COMPARED = {
    "messages": "every message's content (system, user, assistant)",
    "mcq": "question + the text of every option",
    "dacr-bench": "document.text + every question's text",
}
_WORD = re.compile(r"\w+")
# Matching training ids listed per flagged record: enough to find the pair, short enough to read.
_MATCHES_LISTED = 5


@dataclass
class TextSet:
    """Records of one dataset/config/split (or one DACR-Bench file) reduced to the compared text."""

    name: str
    fields: str
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> set[int]:
    """Hashes of the record's distinct n-grams (a 64-bit hash: collisions are negligible at these sizes)."""
    return {hash(tuple(tokens[i : i + n])) for i in range(len(tokens) - n + 1)}


def common_threshold(records: int, common_share: float, common_min: int) -> int:
    """Records an n-gram must appear in to count as shared format rather than content."""
    return max(common_min, math.ceil(common_share * records))


def row_text(row: dict[str, Any], where: str) -> tuple[str, str]:
    """(compared text, kind of fields) for one row of a built folder."""
    if row.get("messages"):
        return "\n".join(str(message.get("content") or "") for message in row["messages"]), "messages"
    if row.get("question") is not None and row.get("options") is not None:
        options = row["options"]
        values = options.values() if isinstance(options, dict) else options
        return "\n".join([str(row["question"]), *(str(value) for value in values if value is not None)]), "mcq"
    raise DataError(where, None, "messages", "row has neither `messages` nor `question` + `options` to compare")


def folder_sets(folder: Path) -> Iterator[tuple[str, str, TextSet]]:
    """(config, split, set) for every train and test* split of a built dataset folder."""
    import pyarrow.parquet as pq

    from crosstrace.hub_folder import local_split_files, read_manifest

    manifest = read_manifest(folder)
    for config, splits in manifest["counts"].items():
        for split in splits:
            if split != "train" and not split.startswith("test"):
                continue
            text_set = TextSet(f"{manifest['name']}/{config}/{split}", "")
            for path in local_split_files(folder, config, split):
                for index, row in enumerate(pq.read_table(path).to_pylist()):
                    text, kind = row_text(row, f"{path} row {index}")
                    text_set.fields = kind
                    text_set.ids.append(str(row.get("id") or f"{config}/{split}/{index}"))
                    text_set.texts.append(text)
            yield config, split, text_set


def dacr_bench_set(path: Path) -> TextSet:
    from crosstrace.sources.dacr_bench import load_benchmark

    bench = load_benchmark(path)
    text_set = TextSet(f"dacr-bench/{path.name}", "dacr-bench")
    for challenge in bench.challenges:
        text_set.ids.append(challenge["challengeId"])
        text_set.texts.append("\n".join([challenge["document"]["text"], *(q["text"] for q in challenge["questions"])]))
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


def _common(counts: dict[int, int], records: int, common_share: float, common_min: int) -> set[int]:
    threshold = common_threshold(records, common_share, common_min)
    return {gram for gram, count in counts.items() if count >= threshold}


def overlap(
    training: list[TextSet], evaluation: list[TextSet], n: int, common_share: float, common_min: int
) -> dict[tuple[str, str], dict[str, list[str]]]:
    """{(training set, evaluation set): {flagged evaluation id: matching training ids}} for n-grams of size n.

    The evaluation sets are indexed once; each training set is streamed over that index, so only
    n-grams present on both sides are ever counted."""
    index: dict[int, list[tuple[int, int]]] = defaultdict(list)  # gram -> [(evaluation set, record)]
    eval_common = []
    for set_number, text_set in enumerate(evaluation):
        counts: dict[int, int] = defaultdict(int)
        for record, text in enumerate(text_set.texts):
            for gram in ngrams(words(text), n):
                index[gram].append((set_number, record))
                counts[gram] += 1
        eval_common.append(_common(counts, len(text_set.texts), common_share, common_min))
    results = {}
    for train_set in training:
        threshold = common_threshold(len(train_set.texts), common_share, common_min)
        hits: dict[int, list[int]] = defaultdict(list)  # gram -> training records holding it
        for record, text in enumerate(train_set.texts):
            for gram in ngrams(words(text), n) & index.keys():
                if len(hits[gram]) < threshold:  # past the threshold it is format: stop listing records
                    hits[gram].append(record)
        flagged: dict[tuple[int, int], set[int]] = defaultdict(set)
        for gram, records in hits.items():
            if len(records) >= threshold:
                continue
            for set_number, eval_record in index[gram]:
                if gram not in eval_common[set_number]:
                    flagged[(set_number, eval_record)].update(records)
        for set_number, eval_set in enumerate(evaluation):
            results[(train_set.name, eval_set.name)] = {
                eval_set.ids[eval_record]: sorted(train_set.ids[r] for r in matches)[:_MATCHES_LISTED]
                for (number, eval_record), matches in sorted(flagged.items())
                if number == set_number
            }
    return results


def report(
    training: list[TextSet], evaluation: list[TextSet], covered: dict, common_share: float, common_min: int
) -> dict[str, Any]:
    """The whole report: settings, sets, and per pair the flagged count and ids at each n-gram size."""
    by_size = {n: overlap(training, evaluation, n, common_share, common_min) for n in NGRAM_SIZES}
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
        "normalisation": "lowercase; words are runs of letters and digits (regex \\w+)",
        "fields_compared": FIELDS_COMPARED,
        "common_ngrams_dropped": f"n-grams in >= max({common_min}, {common_share:.0%} of) a set's records, per set",
        "training_sets": {s.name: {"records": len(s.ids), "fields": s.fields} for s in training},
        "evaluation_sets": {s.name: {"records": len(s.ids), "fields": s.fields} for s in evaluation},
        "not_compared_twice": covered,
        "pairs": pairs,
    }


def markdown_table(result: dict[str, Any]) -> str:
    """The table the dataset cards carry: one row per training/evaluation pair."""
    sizes = result["ngram_sizes"]
    lines = [
        "| training set | evaluation set | records | " + " | ".join(f"flagged ({n}-gram)" for n in sizes) + " |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in sizes) + " |",
    ]
    for pair in result["pairs"]:
        cells = [f"`{pair['training']}`", f"`{pair['evaluation']}`", str(pair["evaluation_records"])]
        for n in sizes:
            count, total = pair[f"flagged_{n}gram"], pair["evaluation_records"]
            cells.append(f"{count} ({count / total:.1%})" if total else "0")
        lines.append("| " + " | ".join(cells) + " |")
    fields = "; ".join(f"{kind}: {what}" for kind, what in result["fields_compared"].items())
    lines += [
        "",
        f"Fields compared: {fields}. Text is lowercased and split into words; "
        f"{result['common_ngrams_dropped']} (system prompt, section labels, templates) are dropped before counting. "
        "A record is flagged when it shares one remaining n-gram with any training row; the flagged ids are listed "
        "in the report written by `python -m crosstrace.builders decontaminate`.",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class DecontaminateArguments:
    """`python -m crosstrace.builders decontaminate`: the n-gram overlap of the built training sets with
    every evaluation set."""

    folders: list[Path] = field(default_factory=list, metadata={"help": "built dataset folders to compare"})
    dacr_bench: list[Path] = field(
        default_factory=list, metadata={"help": "DACR-Bench files scored on (evaluation sets)"}
    )
    out: Path = field(default=Path("build/decontamination.json"), metadata={"help": "the JSON report"})
    card_table: Path | None = field(
        default=None, metadata={"help": "also write the markdown table here (the cards include it)"}
    )
    common_share: float = field(default=0.01, metadata={"help": "share of a set's records making an n-gram format"})
    common_min: int = field(default=5, metadata={"help": "fewest records making an n-gram format"})

    def __post_init__(self):
        if not self.folders:
            raise ValueError("--folders: give at least one built dataset folder")


def run(args: DecontaminateArguments) -> int:
    training, evaluation, covered = collect_sets(args.folders, args.dacr_bench)
    result = report(training, evaluation, covered, args.common_share, args.common_min)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown_table(result)
    if args.card_table:
        args.card_table.write_text(table, encoding="utf-8")
    print(table, end="")
    return 0
