"""The training mixture: several datasets, each weighted, turned into one prompt/completion set.

A recipe lists its sources; each is read with `datasets.load_dataset`, so a source is a Hub id,
a local folder built by `python -m crosstrace.builders ...`, or a file loader with `data_files`:

    mixture:
      - label: crosstrace                   # the name used in reports and metadata
        path: build/crosstrace              # Hub id or local folder (or "json" + data_files)
        name: all                           # dataset config
        split: train
        weight: 1.0                         # copies of the source: 0.5 = a seeded half, 2 = every row twice
      - label: dacr-traces
        path: build/dacr-traces
        split: train
        weight: 1.0

Upstream CrossTrace's "balanced" mix is expressible with two more fields; `upstream_balanced`
writes it: CrossTrace train once, CrossTrace again drawn *with replacement* (`replacement: true`),
and HypoGen train capped at twice CrossTrace (`cap_ratio: 2.0`, `cap_source: crosstrace`).
From 1,180 CrossTrace and 5,478 HypoGen rows that gives 1,180 + 1,180 + 2,360 = 4,720 rows, the
size upstream's manifest records.

Every row becomes a conversational prompt/completion pair: the completion is the final assistant
message, the prompt everything before it. TRL then puts loss on the completion only, for any chat
template, with no `{% generation %}` markers needed. Rows come from these layouts:
  - `messages` (CrossTrace, chat datasets): [..., assistant] -> prompt [...], completion [assistant]
  - `prompt` + `completion` (the engine traces): kept; plain strings become user/assistant messages
  - WildSci-format MCQs (`question`, `options`, `answer`): the prompt evaluate.py asks with
    (`crosstrace.mcq.format.render_mcq_prompt`), completion "Answer: <letter>"
  - raw HypoGen (`abstract`, `bit`, `spark`, `chain_of_reasoning`, `flip`): rendered in the
    CrossTrace layout by `crosstrace.schema`, with the system message of the source named by
    `system_prompt_from` (upstream trained HypoGen rows under the CrossTrace system prompt)

Besides prompt, completion and source, every row carries the columns the verifiable rewards read
(`crosstrace.rewards`), None where its dataset has none, so a GRPO run can score rows of every
source in one batch: `answer` (MCQ: the gold letter), `gold_answers` (dacr-traces), `hypothesis`
and `approach` (CrossTrace: the dataset's columns, else read from the completion's sections).
A `prepare(source, layout, dataset)` hook may rewrite a source before conversion (GRPO uses it to
reshuffle MCQ options per epoch).

Deterministic: the same recipe and seed give the same rows in the same order.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.hub_folder import MANIFEST_NAME, dataset_fingerprint, read_built_split, sha256_file
from crosstrace.jsonio import dumps, iter_jsonl
from crosstrace.mcq.format import answer_line, check_mcq_record, render_mcq_prompt
from crosstrace.schema import SchemaError, TraceRecord, chat_messages, parse_assistant, render_assistant, render_user

logger = logging.getLogger(__name__)

PROMPT, COMPLETION, SOURCE = "prompt", "completion", "source"
# The columns the rewards read (crosstrace.rewards.REWARD_COLUMNS), present on every row.
REWARD_COLUMNS = ("answer", "gold_answers", "hypothesis", "approach")
Messages = list[dict[str, str]]


@dataclass
class MixtureSource:
    """One dataset of the mixture (the arguments of `datasets.load_dataset`, plus how much of it to use)."""

    label: str
    path: str
    name: str | None = None
    split: str = "train"
    data_files: str | list[str] | dict[str, str] | None = None
    revision: str | None = None
    weight: float = 1.0
    replacement: bool = False
    cap_ratio: float | None = None
    cap_source: str | None = None
    system_prompt_from: str | None = None

    def __post_init__(self) -> None:
        for name in ("weight", "cap_ratio"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"mixture source {self.label!r}: {name} must be a number, got {value!r}")
        if self.weight < 0 or not math.isfinite(self.weight):
            raise ValueError(f"mixture source {self.label!r}: weight must be a finite number >= 0, got {self.weight}")
        if (self.cap_ratio is None) != (self.cap_source is None):
            raise ValueError(f"mixture source {self.label!r}: set cap_ratio and cap_source together")

    @classmethod
    def from_dict(cls, entry: dict[str, Any], index: int) -> MixtureSource:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f"mixture[{index}]: unknown key(s) {unknown}; allowed: {sorted(known)}")
        missing = [k for k in ("label", "path") if k not in entry]
        if missing:
            raise ValueError(f"mixture[{index}]: missing required key(s) {missing}")
        return cls(**entry)

    def load_kwargs(self) -> dict[str, Any]:
        kwargs = {
            "path": self.path,
            "name": self.name,
            "split": self.split,
            "data_files": self.data_files,
            "revision": self.revision,
        }
        return {k: v for k, v in kwargs.items() if v is not None}


def parse_sources(entries: Sequence[dict[str, Any] | MixtureSource]) -> list[MixtureSource]:
    """Recipe entries -> sources, checking labels are unique and references point at existing labels."""
    sources = [
        e if isinstance(e, MixtureSource) else MixtureSource.from_dict(dict(e), i) for i, e in enumerate(entries)
    ]
    if not sources:
        raise ValueError("the mixture is empty: list at least one dataset under `mixture:`")
    labels = [s.label for s in sources]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"mixture labels must be unique; repeated: {duplicates}")
    for source in sources:
        for ref in (source.cap_source, source.system_prompt_from):
            if ref is not None and ref not in labels:
                raise ValueError(
                    f"mixture source {source.label!r} refers to {ref!r}, which is not a label in the mixture {labels}"
                )
    return sources


def upstream_balanced(crosstrace: MixtureSource, hypogen: MixtureSource) -> list[MixtureSource]:
    """Upstream CrossTrace's "balanced" mix: CrossTrace, CrossTrace again with replacement, HypoGen capped at 2x."""
    again = MixtureSource(
        **{**asdict(crosstrace), "label": f"{crosstrace.label}-resampled", "weight": 1.0, "replacement": True}
    )
    capped = MixtureSource(**{**asdict(hypogen), "cap_ratio": 2.0, "cap_source": crosstrace.label})
    return [MixtureSource(**{**asdict(crosstrace), "weight": 1.0}), again, capped]


# ----------------------------------------------------------------------------- row conversion


def _where(source: MixtureSource) -> str:
    """What a DataError names as the file: the data file when there is one, else the dataset, config and split."""
    if isinstance(source.data_files, str):
        return source.data_files
    return f"{source.path}" + (f"[{source.name}]" if source.name else "") + f"/{source.split}"


def _check_messages(value: Any, source: MixtureSource, row: int, column: str) -> Messages:
    """Any role a chat template knows may train; an empty message would train on nothing."""
    try:
        return chat_messages(value, column, roles=None, allow_empty=False)
    except SchemaError as error:
        raise DataError(_where(source), row + 1, error.field, error.reason) from None


def _from_messages(example: dict[str, Any], source: MixtureSource, row: int) -> tuple[Messages, Messages]:
    messages = _check_messages(example["messages"], source, row, "messages")
    if messages[-1]["role"] != "assistant":
        raise DataError(
            _where(source),
            row + 1,
            "messages",
            f"the last message must be the assistant's (the completion), got {messages[-1]['role']!r}",
        )
    if len(messages) < 2:
        raise DataError(_where(source), row + 1, "messages", "needs at least one message before the assistant's")
    return messages[:-1], messages[-1:]


def _from_prompt_completion(example: dict[str, Any], source: MixtureSource, row: int) -> tuple[Messages, Messages]:
    prompt, completion = example[PROMPT], example[COMPLETION]
    if isinstance(prompt, str) and isinstance(completion, str):
        if not prompt.strip() or not completion.strip():
            raise DataError(_where(source), row + 1, PROMPT if not prompt.strip() else COMPLETION, "is empty")
        return [{"role": "user", "content": prompt}], [{"role": "assistant", "content": completion}]
    prompt = _check_messages(prompt, source, row, PROMPT)
    completion = _check_messages(completion, source, row, COMPLETION)
    if [m["role"] for m in completion] != ["assistant"]:
        raise DataError(_where(source), row + 1, COMPLETION, "expected exactly one assistant message")
    return prompt, completion


HYPOGEN_COLUMNS = ("abstract", "bit", "spark", "chain_of_reasoning", "flip")


def _hypogen_converter(
    system_prompt: str | None,
) -> Callable[[dict[str, Any], MixtureSource, int], tuple[Messages, Messages]]:
    def convert(example: dict[str, Any], source: MixtureSource, row: int) -> tuple[Messages, Messages]:
        for column in HYPOGEN_COLUMNS:
            if not isinstance(example.get(column), str) or not example[column].strip():
                raise DataError(_where(source), row + 1, column, "missing or empty")
        try:
            record = TraceRecord(
                field_context=" ".join(example["abstract"].split()),
                conventional_assumption=" ".join(example["bit"].split()),
                key_prior_work=[],
                spark=" ".join(example["spark"].split()),
                steps=[" ".join(example["chain_of_reasoning"].split())],
                hypothesis=" ".join(example["flip"].split()),
                approach=None,
                source="hypogen",
            )
            user, assistant = render_user(record), render_assistant(record)
        except SchemaError as error:
            raise DataError(_where(source), row + 1, error.field, error.reason) from None
        prompt = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": user}
        ]
        return prompt, [{"role": "assistant", "content": assistant}]

    return convert


MCQ_COLUMNS = ("question", "options", "answer")


def _from_mcq(example: dict[str, Any], source: MixtureSource, row: int) -> tuple[Messages, Messages]:
    # Train on exactly the prompt evaluate.py asks with, and the final line its scorer reads.
    try:
        record = check_mcq_record(example)
    except SchemaError as error:
        raise DataError(_where(source), row + 1, error.field, error.reason) from None
    return [{"role": "user", "content": render_mcq_prompt(record)}], [
        {"role": "assistant", "content": answer_line(record["answer"])}
    ]


def detect_layout(column_names: Sequence[str]) -> str:
    columns = set(column_names)
    if "messages" in columns:
        return "messages"
    if {PROMPT, COMPLETION} <= columns:
        return "prompt_completion"
    if set(MCQ_COLUMNS) <= columns:
        return "mcq"
    if set(HYPOGEN_COLUMNS) <= columns:
        return "hypogen"
    raise ValueError(
        f"cannot tell how to train on columns {sorted(columns)}: expected `messages`, `prompt` + `completion`, "
        f"MCQ columns {list(MCQ_COLUMNS)}, or the raw HypoGen columns {list(HYPOGEN_COLUMNS)}"
    )


def system_prompt_of(dataset, source: MixtureSource) -> str:
    """The one system message of a chat source (for `system_prompt_from`)."""
    if "messages" not in dataset.column_names:
        raise ValueError(f"system_prompt_from={source.label!r}: that source has no `messages` column")
    prompts = {m["content"] for messages in dataset["messages"] for m in messages if m["role"] == "system"}
    if len(prompts) != 1:
        raise ValueError(
            f"system_prompt_from={source.label!r}: expected one system prompt in that source, found {len(prompts)}"
        )
    return prompts.pop()


def reward_columns(example: dict[str, Any], layout: str, completion: Messages) -> dict[str, Any]:
    """The reward columns of one row: what its dataset carries, None for the rest."""
    columns: dict[str, Any] = dict.fromkeys(REWARD_COLUMNS)
    if layout == "mcq":
        columns["answer"] = example["answer"]
    columns["gold_answers"] = example.get("gold_answers") or None
    if "hypothesis" in example:
        columns["hypothesis"], columns["approach"] = example["hypothesis"], example.get("approach")
    else:
        sections = parse_assistant(completion[-1]["content"])
        columns["hypothesis"], columns["approach"] = sections.hypothesis, sections.approach
    return columns


# ----------------------------------------------------------------------------- sampling


def _rng_seed(seed: int, label: str) -> int:
    # Each source draws from its own stream, so adding a source does not reshuffle the others.
    return int.from_bytes(hashlib.sha256(f"{seed}:{label}".encode()).digest()[:8], "little")


def sample_indices(n: int, weight: float, replacement: bool, cap: int | None, seed: int, label: str) -> list[int]:
    """Row indices for one source: round(weight x n) rows (whole copies, then a seeded draw without
    replacement for the fraction; or all drawn with replacement), then a seeded subset of `cap` rows
    when there are more. Order follows the source, so the result does not depend on dict or set order."""
    import numpy as np

    if n == 0:
        return []
    rng = np.random.default_rng(_rng_seed(seed, label))
    target = round(weight * n)
    if replacement:
        indices = sorted(rng.integers(0, n, size=target).tolist())
    else:
        whole, rest = divmod(target, n)
        indices = sorted(list(range(n)) * whole + rng.choice(n, size=rest, replace=False).tolist())
    if cap is not None and len(indices) > cap:
        keep = rng.choice(len(indices), size=cap, replace=False)
        indices = [indices[i] for i in sorted(keep.tolist())]
    return indices


@dataclass
class SourceReport:
    label: str
    path: str
    name: str | None
    split: str
    data_files: Any
    layout: str
    available: int
    used: int
    fingerprint: str
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Mixture:
    """The mixed rows (prompt, completion, source), the sources as resolved, and what each contributed."""

    dataset: Any  # datasets.Dataset with columns prompt, completion, source and REWARD_COLUMNS
    reports: list[SourceReport]
    sources: list[MixtureSource] = field(default_factory=list)


def load_source(source: MixtureSource, policy: ErrorPolicy | None = None):
    from datasets import load_dataset
    from datasets.exceptions import DatasetGenerationError

    if source.data_files is None and (Path(source.path) / MANIFEST_NAME).is_file():
        # A folder written by `python -m crosstrace.builders`; any other folder goes to load_dataset.
        return _load_built_folder(source)
    local_jsonl = _local_jsonl_files(source)
    if local_jsonl:
        return _load_jsonl_files(local_jsonl, policy or ErrorPolicy())
    try:
        return load_dataset(**source.load_kwargs())
    except (FileNotFoundError, ValueError, DatasetGenerationError) as error:
        cause = error.__cause__ or error  # datasets wraps the reader's own error, which says what is wrong
        raise DataError(
            source.path,
            None,
            None,
            f"cannot load mixture source {source.label!r} ({type(cause).__name__}: {cause}); "
            "build it first, e.g. `python -m crosstrace.builders ...`",
        ) from None


def _local_jsonl_files(source: MixtureSource) -> list[Path]:
    """The JSON Lines files of a `path: json` source's split when they all exist here, else [] (load_dataset's case)."""
    if source.path != "json" or source.data_files is None:
        return []
    by_split = source.data_files if isinstance(source.data_files, dict) else {"train": source.data_files}
    files = by_split.get(source.split)
    files = [files] if isinstance(files, str) else files
    if not files or not all(isinstance(f, str) and f.endswith(".jsonl") and Path(f).is_file() for f in files):
        return []
    return [Path(f) for f in files]


def _load_jsonl_files(files: list[Path], policy: ErrorPolicy):
    """Local JSON Lines read by crosstrace's reader, so a bad line is a DataError naming file and line (or is
    skipped and counted) instead of a `datasets` traceback; an empty file is an error, not an empty source."""
    import pyarrow as pa
    from datasets import Dataset

    rows: list[dict[str, Any]] = []
    for path in files:
        before = len(rows)
        first_line: dict[str, int] = {}
        repeats = []  # (line, the line it repeats): trained on as often as they appear, and said so
        for line, obj in iter_jsonl(path, policy, text_only=True):
            seen = first_line.setdefault(dumps(obj, sort_keys=True), line)
            if seen != line:
                repeats.append((line, seen))
            rows.append(obj)
        if repeats:
            logger.warning(
                "%s: %d row(s) repeat an earlier row exactly (line %d repeats line %d%s); each is trained on as often "
                "as it appears (a source's weight repeats a whole source)",
                path,
                len(repeats),
                *repeats[0],
                ", ..." if len(repeats) > 1 else "",
            )
        if len(rows) == before:
            raise DataError(path, None, None, "holds no usable JSON record (an empty data file?)")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    try:
        typed = Dataset.from_dict({column: [row.get(column) for row in rows] for column in columns})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise DataError(
            files[0] if len(files) == 1 else ", ".join(map(str, files)),
            None,
            None,
            f"a field holds values of different types in different lines ({error})",
        ) from None
    # The same files give the same fingerprint (datasets' own would hash the table); set through the
    # constructor's public `fingerprint` argument, as `BuiltSplit.dataset()` does.
    digest = hashlib.sha256("".join(sha256_file(path) for path in files).encode()).hexdigest()[:16]
    return Dataset(typed.data, info=typed.info, fingerprint=f"jsonl-{digest}")


def _load_built_folder(source: MixtureSource):
    """A folder written by `python -m crosstrace.builders`, through `crosstrace.hub_folder.read_built_split`
    (its files checked against the manifest; the split's fingerprint is the dataset's)."""
    return read_built_split(source.path, source.name, source.split).dataset()


def build_mixture(
    sources: Sequence[MixtureSource],
    seed: int,
    policy: ErrorPolicy | None = None,
    loader=load_source,
    prepare: Callable[[MixtureSource, str, Any], Any] | None = None,
) -> Mixture:
    """Load, convert, weight and shuffle the sources (deterministically for a given seed)."""
    from datasets import Dataset

    policy = policy or ErrorPolicy()
    loaded, load_skips = {}, {}
    for source in sources:  # a line skipped while reading is reported under its own source
        before = len(policy.skipped)
        loaded[source.label] = loader(source, policy)
        load_skips[source.label] = policy.report()[before:]
    rows: list[dict[str, Any]] = []
    reports = []
    sizes: dict[str, int] = {}
    for source in sources:
        dataset = loaded[source.label]
        layout = detect_layout(dataset.column_names)
        if prepare is not None:
            dataset = prepare(source, layout, dataset)
        if layout == "hypogen":
            system = system_prompt_of(loaded[source.system_prompt_from], source) if source.system_prompt_from else None
            convert = _hypogen_converter(system)
        else:
            convert = {"messages": _from_messages, "prompt_completion": _from_prompt_completion, "mcq": _from_mcq}[
                layout
            ]
        converted: list[tuple[Messages, Messages, dict[str, Any]]] = []
        skipped_before = len(policy.skipped)
        for row, example in enumerate(dataset):
            try:
                prompt, completion = convert(example, source, row)
            except DataError as error:
                policy.handle(error)
                continue
            converted.append((prompt, completion, reward_columns(example, layout, completion)))
        cap = None
        if source.cap_source is not None:
            if source.cap_source not in sizes:
                raise ValueError(
                    f"mixture source {source.label!r}: cap_source {source.cap_source!r} must come earlier in the mixture"
                )
            cap = math.floor(source.cap_ratio * sizes[source.cap_source])
        drawn = [
            converted[i]
            for i in sample_indices(len(converted), source.weight, source.replacement, cap, seed, source.label)
        ]
        sizes[source.label] = len(drawn)
        rows.extend({PROMPT: p, COMPLETION: c, SOURCE: source.label, **columns} for p, c, columns in drawn)
        reports.append(
            SourceReport(
                label=source.label,
                path=source.path,
                name=source.name,
                split=source.split,
                data_files=source.data_files,
                layout=layout,
                available=len(dataset),
                used=len(drawn),
                fingerprint=dataset_fingerprint(dataset),
                skipped=load_skips[source.label] + policy.report()[skipped_before:],
            )
        )
    if not rows:
        raise ValueError("the mixture has no rows: every source is empty or has weight 0")
    # One seeded shuffle so sources interleave; the trainer's own sampler shuffles again each epoch.
    return Mixture(
        dataset=Dataset.from_list(rows).shuffle(seed=seed).flatten_indices(), reports=reports, sources=list(sources)
    )
