"""The decontamination section of the dataset cards, rendered from the folder's `decontamination.json`.

A freshly built folder has no report: its card's section (between the two markers) says how to make
one and gives no figures. `python -m crosstrace.builders decontaminate --folders ...` compares all
the folders at once, then writes into each of them `decontamination.json` (the pairs that involve
that dataset, flagged records by id only, never text) and re-renders the section from it. A rebuild
replaces the folder, report included, so a card never shows figures of other data.

`card_problems` is what publishing checks: the section is the render of the file beside it (or the
"no report" text when there is none), and the file was made from this folder's data files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError
from crosstrace.hub_folder import CARD_NAME, read_manifest
from crosstrace.jsonio import dumps, read_json_object

REPORT_NAME = "decontamination.json"
START = "<!-- decontamination:start -->"
END = "<!-- decontamination:end -->"
COMMAND = (
    "python -m crosstrace.builders decontaminate --folders build/crosstrace build/dacr-traces build/mcq "
    "--dacr-bench <DACR-Bench file>"
)
# Flagged ids shown per pair in the card; decontamination.json lists them all.
IDS_SHOWN = 10


def data_digest(folder: str | Path) -> str:
    """sha256 of the data files' checksums in the folder's manifest: what the report was made from.
    (Not of manifest.json itself: staging rewrites local paths in its text.)"""
    files = read_manifest(folder).get("files") or {}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def involves(pair: dict[str, Any], dataset: str) -> bool:
    """Whether a pair's training or evaluation set is a split of `dataset` (set names are dataset/config/split)."""
    return any(pair[side].startswith(f"{dataset}/") for side in ("training", "evaluation"))


def for_dataset(result: dict[str, Any], dataset: str, digest: str) -> dict[str, Any]:
    """The report written into one folder: the settings, every set compared, and the pairs involving it."""
    return {
        "dataset": dataset,
        "data_digest": digest,
        **{key: value for key, value in result.items() if key != "pairs"},
        "pairs": [pair for pair in result["pairs"] if involves(pair, dataset)],
    }


def markdown_table(result: dict[str, Any]) -> str:
    """One row per training/evaluation pair: evaluation records and how many are flagged at each size."""
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
    return "\n".join(lines) + "\n"


def _flagged_ids(result: dict[str, Any]) -> str:
    size = max(result["ngram_sizes"])
    lines = []
    for pair in result["pairs"]:
        ids = list(pair[f"flagged_{size}gram_ids"])
        if ids:
            more = f" and {len(ids) - IDS_SHOWN} more" if len(ids) > IDS_SHOWN else ""
            shown = ", ".join(f"`{i}`" for i in ids[:IDS_SHOWN])
            lines.append(f"- `{pair['training']}` / `{pair['evaluation']}`: {shown}{more}")
    if not lines:
        return f"No evaluation record shares {size} consecutive words of content with any training row."
    return f"Records flagged at {size} grams (ids only; the training rows they match are in `{REPORT_NAME}`):\n\n" + (
        "\n".join(lines)
    )


def section(result: dict[str, Any] | None) -> str:
    """The text between the markers: the table and method from a folder's report, or how to make one."""
    if result is None:
        return (
            "No decontamination report has been made for this build yet, so no overlap figures are given. "
            f"After building the three datasets, `{COMMAND}` compares every training config with every "
            f"evaluation set, writes `{REPORT_NAME}` beside this card and fills in this section."
        )
    fields = "; ".join(f"{kind}: {what}" for kind, what in result["fields_compared"].items())
    return "\n".join(
        [
            f"N-gram overlap between the `train` split of every config of the release and every evaluation set "
            f"(`test*` splits, DACR-Bench files), for the pairs that involve this dataset; `{REPORT_NAME}` in this "
            "repository holds the full report (every flagged id at each size, with the training ids it matches).",
            "",
            markdown_table(result),
            _flagged_ids(result),
            "",
            f"Fields compared: {fields}. Text: {result['normalisation']}. Format, blanked before counting: "
            f"{result['format_ngrams_blanked']}; and {result['format_lines_blanked']}. Made by `{COMMAND}`.",
        ]
    )


def block(result: dict[str, Any] | None) -> str:
    """The section with its markers: what a card template's `{{ decontamination }}` receives."""
    return f"{START}\n{section(result)}\n{END}"


def _bounds(text: str, card: Path) -> tuple[int, int]:
    start, end = text.find(START), text.find(END)
    if start == -1 or end < start or text.count(START) != 1 or text.count(END) != 1:
        raise DataError(
            card,
            None,
            None,
            f"the card needs exactly one '{START}' followed by one '{END}' (the decontamination section); "
            "rebuild the folder with `python -m crosstrace.builders`",
        )
    return start, end + len(END)


def read_report(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / REPORT_NAME
    return read_json_object(path) if path.is_file() else None


def check_markers(folder: str | Path) -> None:
    """Raises DataError when the folder's card has no decontamination section to fill."""
    card = Path(folder) / CARD_NAME
    _bounds(card.read_text(encoding="utf-8"), card)


def write(folder: str | Path, result: dict[str, Any]) -> None:
    """Write the folder's report and re-render its card's section from it."""
    folder = Path(folder)
    card = folder / CARD_NAME
    text = card.read_text(encoding="utf-8")
    start, end = _bounds(text, card)
    (folder / REPORT_NAME).write_text(dumps(result, indent=2) + "\n", encoding="utf-8")
    card.write_text(text[:start] + block(result) + text[end:], encoding="utf-8")


def card_problems(folder: str | Path) -> list[str]:
    """Why the folder's card and report cannot be published as they are (empty: they can)."""
    folder = Path(folder)
    card = folder / CARD_NAME
    text = card.read_text(encoding="utf-8")
    try:
        start, end = _bounds(text, card)
    except DataError as error:
        return [str(error)]
    result = read_report(folder)
    problems = []
    if result is not None and result.get("data_digest") != data_digest(folder):
        problems.append(f"{REPORT_NAME} was made from other data files than this folder's: rerun `{COMMAND}`")
    if text[start:end] != block(result):
        made_from = REPORT_NAME if result is not None else f"the absence of {REPORT_NAME}"
        problems.append(f"{CARD_NAME}'s decontamination section is not the render of {made_from}: rerun `{COMMAND}`")
    return problems
