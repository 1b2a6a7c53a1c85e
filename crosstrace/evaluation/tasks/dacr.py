"""The `dacr` task: document-grounded answers with citations and confidence (DACR-Bench).

One prompt per challenge (the whole document and its questions, JSON answers), from DACR-Bench
files or engine benchmark files, rendered by `crosstrace.dacr_prompt`: the project's template by
default, upstream's exact file with `--prompt-template`. Raw outputs are parsed into answers;
`evaluate.py score` also reads answers already parsed (upstream's list or our mapping).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace import paths
from crosstrace.dacr_prompt import DACR_SYSTEM_PROMPT, render_dacr_prompt, template_hash
from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import split_list
from crosstrace.evaluation.predictions_format import DACR_MAPPING, DACR_UPSTREAM, OUTPUTS
from crosstrace.evaluation.prompts import Messages, Prompt
from crosstrace.evaluation.tasks.base import Task, sample_row
from crosstrace.scoring.types import TaskScore
from crosstrace.sources.dacr_bench import Benchmark, load_benchmark


def _read_template(path: str) -> str:
    from crosstrace.dacr_prompt import check_template

    if not Path(path).is_file():
        raise DataError(path, None, None, "prompt template file not found")
    template = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the prompt
    try:
        check_template(template)
    except ValueError as error:
        raise DataError(path, None, None, str(error)) from None
    return template


def _nothing_to_score(log, unknown: list[str]) -> tuple[int | None, str | None, str]:
    """(line, field, reason) of the DataError for a predictions file none of whose records can be scored."""
    if unknown:
        return (
            None,
            "challengeId",
            (f"nothing to score: none of the {len(unknown)} challenge ids is in the benchmark (e.g. {unknown[0]!r})"),
        )
    if log.problems:
        first = log.problems[0]
        return first["line"], first["field"], f"nothing to score: {first['reason']}"
    return None, None, "nothing to score: the file holds no prediction"


class DacrTask(Task):
    name = "dacr"
    skill_dimension = "category"
    predictions_formats = (DACR_UPSTREAM, DACR_MAPPING, OUTPUTS)

    def __init__(
        self,
        benchmark_files: list[str],
        split: str = "all",
        template_file: str | None = None,
        mode: str = "strict",
        bootstrap: int = 1000,
        seed: int = 0,
    ):
        super().__init__()
        self.mode, self.bootstrap, self.seed = mode, bootstrap, seed
        self.template = _read_template(template_file) if template_file else None
        self.template_name = Path(template_file).name if template_file else "crosstrace default"
        self.benchmarks: list[Benchmark] = [load_benchmark(path, self.input_problems) for path in benchmark_files]
        self.challenges: list[dict[str, Any]] = []
        seen: dict[str, str] = {}
        for bench in self.benchmarks:
            for challenge in bench.challenges:
                challenge_id = challenge["challengeId"]
                if challenge_id in seen:
                    raise DataError(
                        bench.path,
                        None,
                        "challengeId",
                        f"{challenge_id!r} is also in {seen[challenge_id]}: evaluate the two files in separate runs",
                    )
                seen[challenge_id] = Path(bench.path).name
                if split in ("all", challenge["split"]):
                    self.challenges.append(challenge)

        if not self.challenges:
            raise DataError(
                ", ".join(benchmark_files),
                None,
                "challenges",
                f"no challenge to evaluate (split filter {split!r}, {len(self.input_problems.skipped)} unusable records)",
            )
        self.question_ids = {c["challengeId"]: [q["questionId"] for q in c["questions"]] for c in self.challenges}

    @classmethod
    def for_run(cls, args) -> DacrTask:
        files = split_list(args.dacr_benchmarks) or [
            cls.data_or_default(None, "--dacr_benchmarks", "DACR-Bench JSON files")
        ]
        return cls(files, args.dacr_split, args.prompt_template, args.scoring, args.bootstrap, args.seed)

    @classmethod
    def for_score(cls, args, data: str) -> DacrTask:
        return cls([data], mode=args.scoring, bootstrap=args.bootstrap, seed=args.seed)

    @classmethod
    def default_data(cls) -> Path | None:
        return paths.dacr_bench_mini_file()

    @property
    def scoring_variant(self) -> str:
        return self.mode

    def _messages(self, challenge: dict[str, Any], document: str | None = None) -> Messages:
        if document is not None:
            challenge = {**challenge, "document": {**challenge["document"], "text": document}}
        user = {"role": "user", "content": render_dacr_prompt(challenge, self.template)}
        if self.template is not None:
            # Upstream's own template is sent as upstream's harness sends it: a lone user message.
            return [user]
        # Our template is evaluated under the system message our dacr-traces rows train with, so
        # the model sees at test time what it saw in training (and Qwen's template does not
        # inject its default system prompt instead).
        return [{"role": "system", "content": DACR_SYSTEM_PROMPT}, user]

    def prompts(self) -> list[Prompt]:
        return [
            Prompt(
                id=challenge["challengeId"],
                messages=self._messages(challenge),
                document=challenge["document"]["text"],
                with_document=lambda text, challenge=challenge: self._messages(challenge, text),
            )
            for challenge in self.challenges
        ]

    def data_info(self) -> dict[str, Any]:
        benchmarks = {}
        for bench in self.benchmarks:
            summary = bench.summary()
            summary["file"] = Path(summary.pop("path")).name
            benchmarks[bench.name] = summary
        return {
            "benchmarks": benchmarks,
            "challenges": len(self.challenges),
            "questions": sum(len(c["questions"]) for c in self.challenges),
            "input_problems": len(self.input_problems.skipped),
        }

    def scoring_info(self) -> dict[str, Any]:
        from crosstrace.scoring.dacr import scoring_info

        return {
            **scoring_info(self.mode),
            "prompt_template": self.template_name,
            "template_hash": template_hash(self.template),
        }

    def parse(self, prompt_id: str, output: str) -> tuple[dict[str, Any], str | None]:
        """The answers of one challenge's raw output ({qid: entry}), and what was wrong with it."""
        from crosstrace.scoring.dacr_parse import extract_answers

        return extract_answers(output, question_ids=self.question_ids.get(prompt_id))

    def score_parsed(self, parsed: dict[str, dict[str, Any]]) -> TaskScore:
        from crosstrace.scoring.dacr import score_dacr
        from crosstrace.scoring.predictions import ReadPredictions

        challenges = [c for c in self.challenges if c["challengeId"] in parsed]
        # The entries are read already (by `parse`, which reported what was odd): scored as they are.
        return score_dacr(
            challenges,
            ReadPredictions(parsed),
            mode=self.mode,
            bootstrap=self.bootstrap,
            seed=self.seed,
            answers_from="outputs",
        )

    def score_predictions_file(
        self, path: Path, predictions_format: str
    ) -> tuple[TaskScore, dict[str, Any], list[dict[str, Any]]]:
        """Parsed answers (upstream's list or our mapping) against every challenge: the scoring mode
        reads the file's odd values (`DacrRules.reading`), decides what a challenge without a prediction
        counts as, and reports strays. Raw outputs as any task reads them. A file without one prediction
        for a challenge of the benchmark is a DataError: nothing would be scored."""
        if predictions_format == OUTPUTS:
            return super().score_predictions_file(path, predictions_format)
        from crosstrace.scoring.dacr import score_dacr
        from crosstrace.scoring.dacr_rules import rules_for
        from crosstrace.scoring.predictions import read_predictions_file

        predictions, log = read_predictions_file(path, reading=rules_for(self.mode).reading)
        unknown = sorted(set(predictions) - set(self.question_ids))
        if len(unknown) == len(predictions):
            raise DataError(path, *_nothing_to_score(log, unknown))
        score = score_dacr(self.challenges, predictions, mode=self.mode, bootstrap=self.bootstrap, seed=self.seed)
        score.problems = list(log.problems) + list(score.problems)
        without = [c["challengeId"] for c in self.challenges if c["challengeId"] not in predictions]
        skipped = {
            "no_prediction": {"count": len(without), "ids": without},
            "predictions_file": {"count": log.records_skipped, "records": log.records},
            "unknown_ids": {"count": len(unknown), "ids": unknown},
        }
        return score, skipped, self.sample_rows(score, {})

    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        # The raw output answers all of a challenge's questions at once: each question's row carries it.
        return [
            sample_row(self.name, f"{row['challenge_id']}/{row['question_id']}", outputs.get(row["challenge_id"]), row)
            for row in score.samples
        ]

    def versions(self) -> tuple[str, dict[str, Any]]:
        return "benchmarks", self.data_info()["benchmarks"]

    @classmethod
    def extra_plots(cls, run_dir: Path, body: dict[str, Any], label: str) -> list[Path]:
        """The reliability diagram: stated confidence against accuracy over the ECE's bins."""
        from crosstrace.evaluation.plots import reliability_diagram, reliability_points

        path = run_dir / f"{cls.name}_reliability.png"
        return [reliability_diagram(path, reliability_points(body), f"{cls.name} calibration: {label}")]
