"""The `mcq` task: WildSci-format ten-option science questions (A-J).

The project's own prompt asks for a final line `Answer: X`. Scored from the generated answer's
final letter (`generate`), or, with `--mcq_scoring loglik`, from the log-probability of each
option's continuation `Answer: <letter>` right after the prompt (nothing generated; the most
likely option is the answer).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError
from crosstrace.evaluation.prompts import Prompt
from crosstrace.evaluation.tasks.base import Task, file_info, first_problem, sample_row
from crosstrace.evaluation.tasks.built_split import load_built_split
from crosstrace.jsonio import InvalidJSON, iter_jsonl, loads
from crosstrace.mcq.format import ANSWER_LINE, MCQ_TEMPLATE, check_mcq_record, render_mcq_prompt
from crosstrace.schema import SchemaError
from crosstrace.scoring.types import TaskScore

MCQ_SCORING_MODES = ("generate", "loglik")
# loglik: the reply each option is scored as, the final line MCQ_TEMPLATE asks for, put right
# where the assistant's turn opens. Every option's text has the same tokens but its letter.
MCQ_LOGLIK_CONTINUATION = ANSWER_LINE
# Per-option log-probs are summed over the continuation's tokens (not averaged per token).
MCQ_LOGLIK_NORMALIZATION = "sum"


def parse_option_logprobs(output: str, letters: str) -> dict[str, float | None]:
    """A stored loglik output (JSON {letter: log-prob or null}) for a question with options `letters`;
    raises ValueError saying what is wrong."""
    try:
        table = loads(output)
    except InvalidJSON as error:
        raise ValueError(f"not a JSON table of option log-probs ({error.reason})") from None
    if not isinstance(table, dict) or sorted(table) != sorted(letters):
        raise ValueError(
            f"expected log-probs for exactly the options {letters}, got {sorted(table) if isinstance(table, dict) else type(table).__name__}"
        )
    bad = [k for k, v in table.items() if v is not None and (isinstance(v, bool) or not isinstance(v, int | float))]
    if bad:
        raise ValueError(f"option(s) {bad}: log-prob is not a number")
    return table


class McqTask(Task):
    name = "mcq"
    skill_dimension = "discipline"

    def __init__(
        self,
        source: str,
        config: str | None = None,
        split: str = "test",
        bootstrap: int = 1000,
        seed: int = 0,
        scoring: str = "generate",
    ):
        super().__init__()
        if scoring not in MCQ_SCORING_MODES:
            raise ValueError(f"mcq scoring {scoring!r}: choose among {', '.join(MCQ_SCORING_MODES)}")
        self.bootstrap, self.seed, self.scoring = bootstrap, seed, scoring
        self.records: list[dict[str, Any]] = []
        self.ids: list[str] = []
        path = Path(source)
        if path.is_file():
            self._info = {"source": "jsonl file", **file_info(path)}
            numbered = (
                (f"{path.stem}:{line}", line, obj)
                for line, obj in iter_jsonl(path, self.input_problems, text_only=True)
            )
            where = str(path)
        else:
            rows, self._info = load_built_split(source, config, split)
            numbered = (
                (row.get("id") or f"{config or 'default'}:{index + 1}", index + 1, row)
                for index, row in enumerate(rows)
            )
            where = f"{source}[{config}/{split}]"
        for fallback_id, line, raw in numbered:
            try:
                record = check_mcq_record(raw)
            except SchemaError as error:
                self.input_problems.handle(DataError(where, line, error.field, error.reason))
                continue
            record_id = str(raw.get("id") or fallback_id)
            self.records.append(record)
            self.ids.append(record_id)
        if not self.records:
            raise DataError(source, None, None, f"no usable MCQ record ({first_problem(self.input_problems)})")
        duplicated = sorted(i for i, n in Counter(self.ids).items() if n > 1)
        if duplicated:
            raise DataError(source, None, "id", f"{len(duplicated)} duplicate record ids, e.g. {duplicated[:3]}")
        self._index = {record_id: index for index, record_id in enumerate(self.ids)}

    @classmethod
    def for_run(cls, args) -> McqTask:
        if not args.mcq_data:
            raise DataError(
                "--mcq_data",
                None,
                None,
                "the mcq task needs MCQ records: a WildSci-format .jsonl, a built MCQ dataset folder or its Hub id",
            )
        return cls.for_score(args, args.mcq_data)

    @classmethod
    def for_score(cls, args, data: str) -> McqTask:
        return cls(data, args.mcq_config, args.split, args.bootstrap, args.seed, scoring=args.mcq_scoring)

    @property
    def scoring_variant(self) -> str:
        return "loglik" if self.scoring == "loglik" else "default"

    @property
    def outputs_name(self) -> str:
        # Option log-prob tables and generated answers of one run folder are kept apart.
        return "mcq-loglik" if self.scoring == "loglik" else self.name

    def prompts(self) -> list[Prompt]:
        return [
            Prompt(
                id=i,
                messages=[{"role": "user", "content": render_mcq_prompt(r)}],
                continuations={letter: MCQ_LOGLIK_CONTINUATION.format(letter=letter) for letter in r["options"]}
                if self.scoring == "loglik"
                else None,
            )
            for i, r in zip(self.ids, self.records, strict=True)
        ]

    def data_info(self) -> dict[str, Any]:
        return {**self._info, "records": len(self.records), "input_problems": len(self.input_problems.skipped)}

    def scoring_info(self) -> dict[str, Any]:
        template_hash = hashlib.sha256(MCQ_TEMPLATE.encode("utf-8")).hexdigest()[:16]
        if self.scoring == "loglik":
            return {
                "mcq_scoring": "loglik",
                "continuation": MCQ_LOGLIK_CONTINUATION,
                "normalization": MCQ_LOGLIK_NORMALIZATION,
                "selection": "the option whose continuation is most likely right after the prompt (a tie at the top is wrong)",
                "prompt_template_hash": template_hash,
            }
        return {
            "mcq_scoring": "generate",
            "extraction": "final letter (an answer naming two letters is wrong)",
            "prompt_template_hash": template_hash,
        }

    def _scored(self, outputs: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
        return [(i, r) for i, r in zip(self.ids, self.records, strict=True) if i in outputs]

    def parse(self, prompt_id: str, output: str) -> tuple[Any, str | None]:
        """generate: the answer text (its final letter is read by the scorer); loglik: the option
        log-prob table, or no table (no answer) when the stored output is not one."""
        if self.scoring == "generate":
            return output, None
        letters = "".join(self.records[self._index[prompt_id]]["options"])
        try:
            return parse_option_logprobs(output, letters), None
        except ValueError as error:
            return {}, f"{error}; scored as no answer"

    def score_parsed(self, parsed: dict[str, Any]) -> TaskScore:
        from crosstrace.scoring.mcq import score_mcq, score_mcq_loglik

        scored = self._scored(parsed)
        records = [r for _, r in scored]
        answers = [parsed[i] for i, _ in scored]
        if self.scoring == "generate":
            return score_mcq(records, answers, bootstrap=self.bootstrap, seed=self.seed)
        return score_mcq_loglik(
            records, answers, normalization=MCQ_LOGLIK_NORMALIZATION, bootstrap=self.bootstrap, seed=self.seed
        )

    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        scored = self._scored(outputs)
        return [sample_row(self.name, i, outputs[i], row) for (i, _), row in zip(scored, score.samples, strict=True)]
