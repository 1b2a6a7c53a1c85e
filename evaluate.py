"""Evaluate a model on CrossTrace hypothesis generation, DACR document reasoning and science MCQs.

Generate and score (transformers by default; vLLM on a GPU; any OpenAI-compatible server):

    python evaluate.py --model Qwen/Qwen2.5-7B-Instruct --tasks crosstrace,dacr
    python evaluate.py --model Qwen/Qwen2.5-7B-Instruct --adapter <org>/<adapter> --tasks crosstrace,dacr,mcq --mcq-data <mcq.jsonl | folder | org/name>
    python evaluate.py --model Qwen/Qwen2.5-7B-Instruct --tasks mcq --mcq-data <mcq.jsonl> --mcq-scoring loglik   # each option's log-likelihood, nothing generated
    python evaluate.py --model Qwen/Qwen2.5-7B-Instruct --adapter <org>/<adapter> --backend vllm --batch-size 64
    python evaluate.py --model <served-name> --backend openai --base-url http://localhost:8000/v1 --tasks dacr
    python evaluate.py --config <eval.yaml> --max-samples 5          # YAML keys = flag names; flags override

Flags are spelled with `_` or `-` alike (--max_new_tokens = --max-new-tokens). Long DACR
documents that do not fit the model's context are skipped and counted; `--long-documents
truncate` cuts them to fit instead (also counted). Upstream's exact DACR prompt:
`--prompt-template ../shared/data/dacr-bench/prompt_template.txt`.

Score the outputs of any model or API, no model loaded:

    python evaluate.py score --task dacr --benchmark ../shared/data/dacr-bench/dacr_bench_v1.1_mini.json --predictions preds.json [--scoring reference]
    python evaluate.py score --task dacr --benchmark <file> --predictions dacr_results/<run>/generations/dacr.jsonl --scoring reference
    python evaluate.py score --task crosstrace --benchmark ../shared/data/crosstrace --predictions outputs.jsonl     # lines {"id", "output"}

Compare runs, baseline first (the paper-style table, with intervals):

    python evaluate.py compare dacr_results/<baseline-run> dacr_results/<fine-tuned-run>

Rewrite a run folder's report.md from its results.json and plots (after a report format change):

    python evaluate.py report dacr_results/<run-id> [more run folders]

Each run writes dacr_results/<run-id>/: results.json, samples.jsonl, report.md, *.png, and the raw
outputs under generations/. Rerunning the same command resumes it: finished prompts are skipped.
"""

from __future__ import annotations

import sys

if __name__ == "evaluate":
    # This script shares its name with Hugging Face's `evaluate` library. With the repository
    # root on sys.path (`python -m pytest`, `python -c ...` run from the root), `import evaluate`
    # would find this file: hand that import over to the library instead.
    import importlib
    from pathlib import Path

    _root = Path(__file__).resolve().parent
    _saved_path = sys.path[:]
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _root]
    del sys.modules["evaluate"]
    try:
        sys.modules["evaluate"] = importlib.import_module("evaluate")
    finally:
        sys.path[:] = _saved_path

import json
import logging
from dataclasses import asdict

from crosstrace.cli import parse_args
from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import CompareArguments, EvalArguments, ReportArguments, ScoreArguments

logger = logging.getLogger("evaluate")

COMMANDS = {"run": EvalArguments, "score": ScoreArguments, "compare": CompareArguments, "report": ReportArguments}
# Sub-commands whose run folders may be given as positional arguments.
_POSITIONAL_RUN_DIRS = ("compare", "report")


def parse_command_line(
    argv: list[str],
) -> tuple[str, EvalArguments | ScoreArguments | CompareArguments | ReportArguments]:
    """`[score|compare|report] <flags>` -> (command, its arguments); a bare flag list is a generation run."""
    command = argv[0] if argv and argv[0] in COMMANDS and argv[0] != "run" else "run"
    rest = argv[1:] if command != "run" else argv
    if command in _POSITIONAL_RUN_DIRS and rest and not rest[0].startswith("-"):
        rest = ["--run_dirs", *rest]  # `compare <dir> <dir>`: positional run folders
    prog = "evaluate.py" if command == "run" else f"evaluate.py {command}"
    (args,) = parse_args(COMMANDS[command], rest, prog=prog, description=__doc__)
    return command, args


def seed_everything(seed: int, with_torch: bool) -> None:
    """Python's and numpy's generators, and torch's when a model will run (scoring needs no torch)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if with_torch:
        from transformers import set_seed

        set_seed(seed)


def main(argv: list[str] | None = None) -> int:
    command, args = parse_command_line(sys.argv[1:] if argv is None else argv)
    if command == "compare":
        from crosstrace.evaluation.compare import run_compare

        try:
            print(run_compare(args.run_dirs, args.output, args.bootstrap, args.seed))
        except (DataError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    if command == "report":
        from crosstrace.evaluation.report import rewrite_reports

        try:
            for path in rewrite_reports(args.run_dirs):
                print(path)
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    seed_everything(args.seed, with_torch=command == "run")  # first, before any data is read or model built
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logger.info("evaluate.py %s, configuration:\n%s", command, json.dumps(asdict(args), indent=2, default=str))

    from crosstrace.evaluation.backends import BackendError
    from crosstrace.evaluation.missing_metrics import EXIT_NOT_MEASURED, MissingMetricsError
    from crosstrace.evaluation.pipeline import run_evaluation, run_scoring

    try:
        run_dir = run_evaluation(args) if command == "run" else run_scoring(args)
    except (DataError, BackendError) as error:
        logger.error("%s", error)
        return 1
    except MissingMetricsError as error:  # the run folder is written: print it, but do not pass for complete
        logger.error("%s", error)
        print(error.run_dir)
        return EXIT_NOT_MEASURED
    print(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
