"""Read and write DACR-Bench files: challenges as plain dicts in the DACR-Bench schema.

    from crosstrace.sources.dacr_bench import load_benchmark
    bench = load_benchmark("../shared/data/dacr-bench/dacr_bench_v1.1_mini.json")
    len(bench.challenges), bench.version, bench.defects[:3]

Three shapes are read into the same challenge objects (docs/upstream-formats.md §2):
- the v1.1 wrapper `{"name", "version", "challenges": [...], ...}`;
- the v1.0 wrapper, whose challenges have no `split`: it is inferred from `source.type`
  (`engine` -> synthetic, `document` -> real), and the v1.0 category `conflict_targeted`
  is renamed `trap_targeted`;
- a bare JSON list of challenges.

Structural problems that make a record unusable (a question without `goldAnswer`, a gold answer
or trap value that is NaN or Infinity, a challenge without document text, a split other than
`real` or `synthetic`) are `DataError`s naming the file and the field path, e.g.
`challenges[3].questions[2].goldAnswer`; under `ErrorPolicy("skip")` the bad question or
challenge is skipped and counted. The known *data* defects of the public release (a trap whose
wrong value equals its correct value, a trap whose injected text is a model's refusal, traps no
question targets) and other oddities (an empty document, a trap id defined twice) are not errors:
the records are kept and each defect is listed in `Benchmark.defects` (an empty document is also
logged as a warning), so scorers can decide (trap evasion is undefined for an equal-valued trap).

`save_benchmark` writes challenges (e.g. from the engine) in the v1.1 wrapper format, without
timestamps, so the same challenges always give the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import dumps, read_json

CATEGORIES = (
    "direct_extraction",
    "multi_hop_bridge",
    "comparative",
    "computation",
    "conditional_filtered",
    "trap_targeted",
    "cross_section_synthesis",
)
LEGACY_CATEGORIES = {"conflict_targeted": "trap_targeted"}
SPLITS = ("real", "synthetic")
SPLIT_BY_SOURCE_TYPE = {"engine": "synthetic", "document": "real"}
DIFFICULTIES = ("easy", "medium", "hard")

# Phrases that open a language model's refusal: one upstream trap's "injected text" is a model
# declining to write it, so the trap value never made it into the document.
_REFUSAL = re.compile(
    r"^\s*(I won't|I will not|I can't|I cannot|I'm sorry|I am sorry|Sorry,|As an AI|I'm not able|I am not able)\b",
    re.IGNORECASE,
)


logger = logging.getLogger(__name__)


@dataclass
class Benchmark:
    """A DACR-Bench file read into challenge dicts (DACR-Bench schema, split always present)."""

    path: str
    name: str
    version: str | None
    description: str | None
    challenges: list[dict[str, Any]]
    defects: list[dict[str, Any]] = field(default_factory=list)
    normalizations: list[dict[str, Any]] = field(default_factory=list)
    sha256: str = ""

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {challenge["challengeId"]: challenge for challenge in self.challenges}

    def summary(self) -> dict[str, Any]:
        """What a results file records about the benchmark it scored."""
        return {
            "path": self.path,
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "challenges": len(self.challenges),
            "questions": sum(len(c["questions"]) for c in self.challenges),
            "defects": dict(Counter(d["kind"] for d in self.defects)),
        }


class _Where:
    """Builds field paths like `challenges[3].questions[2].goldAnswer` for error messages."""

    def __init__(self, path: Path, prefix: str):
        self.path = path
        self.prefix = prefix

    def at(self, suffix: str) -> _Where:
        joined = f"{self.prefix}.{suffix}" if self.prefix and not suffix.startswith("[") else self.prefix + suffix
        return _Where(self.path, joined)

    def error(self, reason: str) -> DataError:
        return DataError(self.path, None, self.prefix, reason)


def _require(obj: dict[str, Any], key: str, types: type | tuple[type, ...], where: _Where) -> Any:
    if key not in obj or obj[key] is None:
        raise where.at(key).error("missing")
    value = obj[key]
    if not isinstance(value, types) or isinstance(value, bool):
        expected = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise where.at(key).error(f"expected {expected}, got {type(value).__name__}")
    return value


def _require_answer_value(value: Any, where: _Where) -> Any:
    """A gold answer, alias or trap value: text, or a finite number (NaN and Infinity are no answer, and
    would become the text "nan" or "inf" that an answer "NaN" matches)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(f"expected text or a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise where.error(f"{value} is not an answer: give the value as text, or a finite number")
    return value


def _read_json(path: Path) -> tuple[Any, str]:
    return read_json(path, text_only=True), hashlib.sha256(path.read_bytes()).hexdigest()


def load_benchmark(path: str | Path, policy: ErrorPolicy | None = None) -> Benchmark:
    """Read a DACR-Bench JSON file (v1.1 wrapper, v1.0 wrapper or bare list).

    Raises `DataError` on unusable input under the default policy; with `ErrorPolicy("skip")`
    unusable questions and challenges are skipped and recorded in `policy.skipped`.
    """
    policy = policy or ErrorPolicy()
    path = Path(path)
    data, digest = _read_json(path)
    if isinstance(data, list):
        wrapper: dict[str, Any] = {}
        records, prefix = data, ""
    elif isinstance(data, dict):
        wrapper = data
        if not isinstance(data.get("challenges"), list):
            raise DataError(
                path,
                None,
                "challenges",
                "expected a list of challenges (or a bare JSON list of challenges at top level)",
            )
        records, prefix = data["challenges"], "challenges"
    else:
        raise DataError(path, None, None, f"expected a JSON object or list at top level, got {type(data).__name__}")

    bench = Benchmark(
        path=str(path),
        name=str(wrapper.get("name") or path.stem),
        version=None,
        description=wrapper.get("description"),
        challenges=[],
        sha256=digest,
    )
    read = partial(_read_challenge, policy=policy, bench=bench)
    bench.challenges = _read_each(records, _Where(path, prefix), read, "challengeId", policy)
    for challenge in bench.challenges:
        bench.defects.extend(find_defects(challenge))

    empty = [d["challengeId"] for d in bench.defects if d["kind"] == "document_empty"]
    if empty:
        logger.warning(
            "%s: %d challenge(s) with an empty document, kept and counted as defects: %s",
            path,
            len(empty),
            ", ".join(map(str, empty[:10])),
        )
    versions = sorted({str(c.get("version")) for c in bench.challenges if c.get("version") is not None})
    bench.version = (
        str(wrapper["version"])
        if wrapper.get("version") is not None
        else (versions[0] if len(versions) == 1 else None)
    )
    return bench


def _read_each(
    items: list[Any],
    where: _Where,
    read: Callable[[Any, _Where], dict[str, Any]],
    id_key: str,
    policy: ErrorPolicy,
) -> list[dict[str, Any]]:
    """`read(item, where)` of each item of the list at `where`; an unusable item, or one whose `id_key` repeats an
    earlier one, is a DataError (skipped and counted under `ErrorPolicy("skip")`)."""
    kept, seen = [], set()
    for index, item in enumerate(items):
        item_where = where.at(f"[{index}]")
        try:
            read_item = read(item, item_where)
            if read_item[id_key] in seen:
                raise item_where.at(id_key).error(f"duplicate {id_key} {read_item[id_key]!r}")
        except DataError as error:
            policy.handle(error)
            continue
        seen.add(read_item[id_key])
        kept.append(read_item)
    return kept


def _read_challenge(record: Any, where: _Where, policy: ErrorPolicy, bench: Benchmark) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise where.error(f"expected a challenge object, got {type(record).__name__}")
    challenge_id = _require(record, "challengeId", str, where)
    document = _require(record, "document", dict, where)
    _require(document, "text", str, where.at("document"))
    source = record.get("source") if isinstance(record.get("source"), dict) else {}
    challenge = dict(record)
    split = challenge.get("split")
    if split not in (None, "") and split not in SPLITS:
        raise where.at("split").error(f"{split!r} is not a DACR-Bench split: expected one of {', '.join(SPLITS)}")
    if not split:
        inferred = SPLIT_BY_SOURCE_TYPE.get(str(source.get("type")))
        if inferred is None:
            raise where.at("split").error(
                f"missing, and source.type {source.get('type')!r} is neither 'engine' nor 'document' to infer it from"
            )
        challenge["split"] = inferred
        bench.normalizations.append(
            {"challengeId": challenge_id, "kind": "split_inferred", "detail": f"split {inferred!r} from source.type"}
        )
    for key in ("facts", "traps"):
        value = record.get(key, [])
        if not isinstance(value, list):
            raise where.at(key).error(f"expected a list, got {type(value).__name__}")
        challenge[key] = value
    for index, trap in enumerate(challenge["traps"]):
        for key in ("correctValue", "wrongValue"):
            if isinstance(trap, dict) and trap.get(key) is not None:
                _require_answer_value(trap[key], where.at(f"traps[{index}]").at(key))
    questions_raw = _require(record, "questions", list, where)
    read = partial(_read_question, challenge_id=challenge_id, bench=bench)
    questions = _read_each(questions_raw, where.at("questions"), read, "questionId", policy)
    if not questions:
        raise where.at("questions").error("no usable question")
    challenge["questions"] = questions
    return challenge


def _read_question(raw: Any, where: _Where, challenge_id: str, bench: Benchmark) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise where.error(f"expected a question object, got {type(raw).__name__}")
    question = dict(raw)
    question_id = _require(raw, "questionId", str, where)
    _require(raw, "text", str, where)
    gold = _require(raw, "goldAnswer", (str, int, float), where)
    _require_answer_value(gold, where.at("goldAnswer"))
    if not isinstance(gold, str):
        question["goldAnswer"] = _format_number(gold)
        bench.normalizations.append(
            {"challengeId": challenge_id, "questionId": question_id, "kind": "gold_number_to_text"}
        )
    aliases = raw.get("goldAnswerAliases") or []
    if not isinstance(aliases, list):
        raise where.at("goldAnswerAliases").error(f"expected a list of strings, got {type(aliases).__name__}")
    for index, alias in enumerate(aliases):
        if alias is not None:
            _require_answer_value(alias, where.at(f"goldAnswerAliases[{index}]"))
    question["goldAnswerAliases"] = [a if isinstance(a, str) else _format_number(a) for a in aliases if a is not None]
    hops = raw.get("hops")
    if hops is not None and (isinstance(hops, bool) or not isinstance(hops, int) or hops < 0):
        raise where.at("hops").error(f"expected a whole number of reasoning steps, got {hops!r}")
    category = raw.get("category")
    if category in LEGACY_CATEGORIES:
        question["category"] = LEGACY_CATEGORIES[category]
        bench.normalizations.append(
            {
                "challengeId": challenge_id,
                "questionId": question_id,
                "kind": "legacy_category",
                "detail": f"{category} -> {question['category']}",
            }
        )
    question.setdefault("targetsTrap", None)
    question.setdefault("reasoningChain", [])
    return question


def _format_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def find_defects(challenge: dict[str, Any]) -> list[dict[str, Any]]:
    """Known data defects of one challenge, each `{challengeId, kind, ...}`; the record is kept."""
    challenge_id = challenge["challengeId"]
    defects = []
    fact_ids = {f.get("factId") for f in challenge["facts"] if isinstance(f, dict)}
    trap_ids = set()
    n_paragraphs = len(challenge["document"]["text"].split("\n\n"))
    if not challenge["document"]["text"].strip():
        defects.append({"challengeId": challenge_id, "kind": "document_empty"})
    for index, trap in enumerate(challenge["traps"]):
        if not isinstance(trap, dict):
            defects.append({"challengeId": challenge_id, "kind": "trap_not_object", "trap": index})
            continue
        trap_id = trap.get("trapId", f"#{index}")
        if trap_id in trap_ids:
            defects.append({"challengeId": challenge_id, "kind": "trap_duplicate_id", "trapId": trap_id})
        trap_ids.add(trap_id)
        if (
            _format_number(trap.get("correctValue")).strip().lower()
            == _format_number(trap.get("wrongValue")).strip().lower()
        ):
            defects.append(
                {
                    "challengeId": challenge_id,
                    "kind": "trap_equal_values",
                    "trapId": trap_id,
                    "value": _format_number(trap.get("correctValue")),
                }
            )
        location = trap.get("trapLocation") if isinstance(trap.get("trapLocation"), dict) else {}
        if _REFUSAL.match(str(location.get("injectedText", ""))):
            defects.append({"challengeId": challenge_id, "kind": "trap_text_refusal", "trapId": trap_id})
        if trap.get("targetFactId") not in fact_ids:
            defects.append(
                {
                    "challengeId": challenge_id,
                    "kind": "trap_unknown_fact",
                    "trapId": trap_id,
                    "targetFactId": trap.get("targetFactId"),
                }
            )
        paragraph = location.get("paragraphIndex")
        if isinstance(paragraph, int) and not 0 <= paragraph < n_paragraphs:
            defects.append(
                {
                    "challengeId": challenge_id,
                    "kind": "location_out_of_range",
                    "trapId": trap_id,
                    "paragraphIndex": paragraph,
                }
            )
    targeted = {q.get("targetsTrap") for q in challenge["questions"]}
    for trap_id in sorted(trap_ids - targeted):
        defects.append({"challengeId": challenge_id, "kind": "trap_untargeted", "trapId": trap_id})
    for question in challenge["questions"]:
        if question["targetsTrap"] is not None and question["targetsTrap"] not in trap_ids:
            defects.append(
                {
                    "challengeId": challenge_id,
                    "kind": "question_unknown_trap",
                    "questionId": question["questionId"],
                    "targetsTrap": question["targetsTrap"],
                }
            )
        if not question["goldAnswer"].strip():
            defects.append({"challengeId": challenge_id, "kind": "gold_empty", "questionId": question["questionId"]})
    return defects


def benchmark_document(
    challenges: list[dict[str, Any]], name: str, description: str, version: str = "1.1"
) -> dict[str, Any]:
    """The v1.1 wrapper object for `challenges`, breakdowns and stats included, no timestamp."""
    return {
        "name": name,
        "version": version,
        # A build date would make two builds of the same seeds differ; the seeds identify it.
        "createdAt": None,
        "description": description,
        "challenges": challenges,
        "domainBreakdown": dict(sorted(Counter(c["document"]["domain"] for c in challenges).items())),
        "categoryBreakdown": {
            cat: sum(q["category"] == cat for c in challenges for q in c["questions"]) for cat in CATEGORIES
        },
        "splitBreakdown": dict(sorted(Counter(c["split"] for c in challenges).items())),
        "stats": {
            "totalChallenges": len(challenges),
            "totalQuestions": sum(len(c["questions"]) for c in challenges),
            "totalTraps": sum(len(c["traps"]) for c in challenges),
            # Share of challenges that passed independent verification (engine challenges all do).
            "verificationPassRate": sum(bool(c.get("metadata", {}).get("verificationPasses")) for c in challenges)
            / max(len(challenges), 1),
            "domainCount": len({c["document"]["domain"] for c in challenges}),
        },
    }


def save_benchmark(path: str | Path, challenges: list[dict[str, Any]], name: str, description: str) -> Path:
    """Write challenges as a DACR-Bench v1.1 file (deterministic bytes for the same challenges)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(benchmark_document(challenges, name, description), indent=1)
    path.write_text(text + "\n", encoding="utf-8")
    return path
