"""The task interface: everything the pipeline, the reports and the plots ask of a task.

A task is built from the command's arguments (`for_run`, `for_score`), gives its prompts, parses
each raw output (`parse`) and scores the parsed set (`score_parsed`), and contributes its pieces
of the run folder: results.json's `data`, `scoring` and `versions` entries, the per-sample rows,
side files, and plots beyond the generic ones. Reports, plots and comparisons read results.json
alone, so what they need of a task is a class attribute or class method (`skill_dimension`,
`extra_plots`), looked up by the task's name.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.evaluation.predictions_format import OUTPUTS
from crosstrace.evaluation.prompts import Prompt
from crosstrace.hub_folder import sha256_file
from crosstrace.jsonio import has_lone_surrogate, iter_jsonl
from crosstrace.scoring.types import TaskScore

logger = logging.getLogger(__name__)


class Task(ABC):
    """A task: prompts to generate from, a parser and a scorer for the outputs, and its report pieces."""

    name: ClassVar[str]
    # The breakdown read as "per skill" (plots, the comparison table), or None.
    skill_dimension: ClassVar[str | None] = None
    # Predictions-file formats `evaluate.py score` reads for the task (see predictions_format.py);
    # a file without any readable record is read as the first.
    predictions_formats: ClassVar[tuple[str, ...]] = (OUTPUTS,)

    def __init__(self) -> None:
        self.input_problems = ErrorPolicy("skip")  # input records that could not be used, counted

    # ------------------------------------------------------------------------- construction

    @classmethod
    @abstractmethod
    def for_run(cls, args) -> Task:
        """The task as `evaluate.py` (a generation run) configures it."""

    @classmethod
    @abstractmethod
    def for_score(cls, args, data: str) -> Task:
        """The task as `evaluate.py score` configures it, reading its reference data from `data`."""

    @classmethod
    def default_data(cls) -> Path | None:
        """Where the task's data is found when no flag names it (the public releases beside the checkout)."""
        return None

    @classmethod
    def data_or_default(cls, given: str | None, flag: str, what: str) -> str:
        if given:
            return given
        found = cls.default_data()
        if found is None:
            raise DataError(flag, None, None, f"not given, and ../shared/data has no default here: pass {what}")
        return str(found)

    # ------------------------------------------------------------------------- prompts and scoring

    @abstractmethod
    def prompts(self) -> list[Prompt]:
        """Every prompt of the task, in a fixed order."""

    @property
    def outputs_name(self) -> str:
        """The name of the task's file under generations/: outputs of different kinds never share one."""
        return self.name

    @property
    def scoring_variant(self) -> str:
        """The scoring choice that names a `score` run's default id (outputs scored two ways stay apart)."""
        return "default"

    def parse(self, prompt_id: str, output: str) -> tuple[Any, str | None]:
        """What the scorer reads from one raw output, and a problem sentence when the output could not
        be read cleanly (it is scored as read, e.g. as no answer). By default the text itself."""
        return output, None

    @abstractmethod
    def score_parsed(self, parsed: dict[str, Any]) -> TaskScore:
        """Score the parsed outputs of the prompts that were generated (keyed by prompt id)."""

    def score(self, outputs: dict[str, str]) -> TaskScore:
        """Parse each raw output, then score them; parsing problems are listed first. With no output at
        all (every prompt skipped), no metric rather than zeros."""
        if not outputs:
            logger.warning("%s: nothing to score (no prompt was generated); its metrics are left undefined", self.name)
            return TaskScore(task=self.name, scoring={}, metrics={})
        parsed, problems = {}, []
        for prompt_id, output in outputs.items():
            parsed[prompt_id], problem = self.parse(prompt_id, output)
            if problem:
                problems.append({"id": prompt_id, "problem": problem})
            if has_lone_surrogate(output):  # e.g. a "\ud800" escape in a predictions file: scored, and said
                problems.append(
                    {"id": prompt_id, "problem": "the output holds a lone surrogate (not text); scored as written"}
                )
        score = self.score_parsed(parsed)
        score.problems = problems + list(score.problems)
        return score

    def missing_metrics(self, score: TaskScore) -> dict[str, str]:
        """Metrics that were asked for (by the arguments, e.g. a judge) but have no value in `score`, each
        with why: recorded in results.json and failing the run unless --allow_missing_metrics
        (`missing_metrics.py`). A metric with nothing to measure by the data's nature is not one."""
        return {}

    @abstractmethod
    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        """Per-sample rows for samples.jsonl: id, raw output, parsed answer, score; no reference text."""

    # ------------------------------------------------------------------------- predictions files

    def id_aliases(self) -> dict[str, dict[str, str]]:
        """Other ids a predictions file may key a prompt by, e.g. the published dataset's `id` column:
        {alias: {config: prompt id}}. An alias found in one config names that prompt; in several, it is
        an error listing them. None by default."""
        return {}

    def score_predictions_file(
        self, path: Path, predictions_format: str
    ) -> tuple[TaskScore, dict[str, Any], list[dict[str, Any]]]:
        """(score, what was not scored, samples) for a predictions file in one of `predictions_formats`.

        Here the `outputs` format: raw outputs keyed by prompt id (or an `id_aliases` alias), scored
        like a generation run's (prompts without an output are counted as not scored, as prompts skipped
        for the context are). A file with no usable record is a DataError: nothing would be scored."""
        if predictions_format != OUTPUTS:
            raise ValueError(f"task {self.name} reads no {predictions_format} predictions")
        read_problems = ErrorPolicy("skip")
        records = read_outputs(path, read_problems)
        known = [p.id for p in self.prompts()]
        outputs, unknown = self._by_prompt_id(path, records, set(known), read_problems)
        if not outputs:
            raise DataError(
                path, None, None, f"nothing to score: {self._why_nothing(records, unknown, read_problems)}"
            )
        score = self.score(outputs)
        score.problems = [{"id": i, "problem": "not an id of this task's data; ignored"} for i in unknown] + list(
            score.problems
        )
        without = [i for i in known if i not in outputs]
        skipped = {
            "no_prediction": {"count": len(without), "ids": without},
            "predictions_file": {"count": len(read_problems.skipped), "items": read_problems.report()},
            "unknown_ids": {"count": len(unknown), "ids": unknown},
        }
        return score, skipped, self.sample_rows(score, outputs)

    def _by_prompt_id(
        self, path: Path, records: dict[str, tuple[int, str]], known: set[str], policy: ErrorPolicy
    ) -> tuple[dict[str, str], list[str]]:
        """({prompt id: output}, ids that name no prompt) for the records read ({id: (line, output)})."""
        aliases = self.id_aliases()
        outputs: dict[str, str] = {}
        unknown: list[str] = []
        for record_id, (line, output) in records.items():
            if record_id in known:
                prompt_id = record_id
            elif record_id in aliases:
                configs = aliases[record_id]
                if len(configs) > 1:
                    raise DataError(
                        path,
                        line,
                        "id",
                        f"{record_id!r} is the id of a record in configs {', '.join(sorted(configs))}: key it by one "
                        f"({', '.join(sorted(configs.values()))}), or score one config",
                    )
                (prompt_id,) = configs.values()
            else:
                unknown.append(record_id)
                continue
            if prompt_id in outputs:
                policy.handle(
                    DataError(path, line, "id", f"{record_id!r} names {prompt_id!r} again; the first is kept")
                )
                continue
            outputs[prompt_id] = output
        return outputs, sorted(unknown)

    def _why_nothing(self, records: dict[str, tuple[int, str]], unknown: list[str], policy: ErrorPolicy) -> str:
        if records:
            alias = next(iter(self.id_aliases()), None)
            looks = repr(self.prompts()[0].id) + (f" or {alias!r}" if alias else "")
            return f"none of the {len(records)} ids is an id of this task's data (e.g. {unknown[0]!r}; ids here look like {looks})"
        return f"no usable record ({first_problem(policy) if policy.skipped else 'the file holds none'})"

    # ------------------------------------------------------------------------- results and run folder

    @abstractmethod
    def data_info(self) -> dict[str, Any]:
        """What data the task read: names, versions, file checksums, counts (results.json `data`)."""

    @abstractmethod
    def scoring_info(self) -> dict[str, Any]:
        """How outputs are scored (results.json `scoring`)."""

    def versions(self) -> tuple[str, dict[str, Any]]:
        """(section, entries) the task adds under results.json `versions`: its data, under `datasets`."""
        return "datasets", {self.name: self.data_info()}

    def write_side_files(self, run_dir: Path) -> list[Path]:
        """Write the files the task keeps in the run folder beside results.json; returns them (none by default)."""
        return []

    @classmethod
    def extra_plots(cls, run_dir: Path, body: dict[str, Any], label: str) -> list[Path]:
        """Plots of the task's results.json entry beyond the metric and per-skill bars (none by default)."""
        return []


def read_outputs(path: Path, policy: ErrorPolicy) -> dict[str, tuple[int, str]]:
    """JSON Lines of {id, output} (any model's outputs, or a run's generations file) -> {id: (line, output)}."""
    outputs: dict[str, tuple[int, str]] = {}
    for line, obj in iter_jsonl(path, policy):
        record_id, output = obj.get("id"), obj.get("output")
        if not isinstance(record_id, str) or not record_id:
            policy.handle(DataError(path, line, "id", f"expected a non-empty string, got {record_id!r}"))
        elif not isinstance(output, str):
            policy.handle(DataError(path, line, "output", f"expected a string, got {type(output).__name__}"))
        elif record_id in outputs:
            policy.handle(DataError(path, line, "id", f"{record_id!r} appears twice; the first is kept"))
        else:
            outputs[record_id] = (line, output)
    return outputs


def first_problem(policy: ErrorPolicy) -> str:
    if not policy.skipped:
        return "the data is empty"
    first = policy.skipped[0]
    return (
        f"{len(policy.skipped)} records unusable, e.g. {DataError(first.path, first.line, first.field, first.reason)}"
    )


def file_info(path: Path) -> dict[str, Any]:
    return {"file": path.name, "sha256": sha256_file(path)}


# Scorer row keys that samples.jsonl replaces with its own (task, id, raw_output), and keys that
# would carry third-party reference text, should a scorer ever add them: never written.
_REPLACED_KEYS = frozenset({"id", "index", "output"})
_REFERENCE_KEYS = frozenset(
    {"reference", "gold", "goldAnswer", "gold_answer", "goldAnswerAliases", "document", "question", "options"}
)


def sample_row(task: str, sample_id: str, raw_output: str | None, scored: dict[str, Any]) -> dict[str, Any]:
    """One samples.jsonl row: task, id, the model's raw output, then what the scorer parsed and decided."""
    kept = {k: v for k, v in scored.items() if k not in _REPLACED_KEYS and k not in _REFERENCE_KEYS}
    return {"task": task, "id": sample_id, "raw_output": raw_output, **kept}
