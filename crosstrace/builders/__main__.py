"""Build the hub-ready dataset folders.

    python -m crosstrace.builders crosstrace  --source ../shared/data/crosstrace --out build/crosstrace
    python -m crosstrace.builders dacr-traces --n 5000 --seed 0 --out build/dacr-traces
    python -m crosstrace.builders mcq         --crosstrace build/crosstrace --out build/mcq
    python -m crosstrace.builders mcq         --config mcq.yaml --engine-n 40   # YAML keys = option names; flags override
    python -m crosstrace.builders decontaminate --folders build/crosstrace build/dacr-traces build/mcq --dacr-bench <file>

`python -m crosstrace.builders <dataset> --help` explains each one's options (spelt with `-` or `_` alike).
"""

from __future__ import annotations

import importlib
import logging
import sys

from crosstrace.cli import parse_args
from crosstrace.errors import DataError

# dataset -> (module holding its arguments dataclass and run(args), the dataclass's name, one-line summary).
# Only the chosen builder is imported: each pulls in different heavy dependencies.
BUILDERS = {
    "crosstrace": (
        "crosstrace.builders.crosstrace_dataset",
        "CrossTraceArguments",
        "the CrossTrace hypothesis-generation traces",
    ),
    "dacr-traces": (
        "crosstrace.builders.dacr_traces",
        "DacrTracesArguments",
        "document-reasoning traces from the challenge engine",
    ),
    "mcq": ("crosstrace.builders.mcq_dataset", "McqArguments", "WildSci-style ten-option science questions"),
    # Not a dataset: the n-gram overlap report between the built training and evaluation sets.
    "decontaminate": (
        "crosstrace.decontaminate",
        "DecontaminateArguments",
        "n-gram overlap of training data with every evaluation set",
    ),
}
PROG = "python -m crosstrace.builders"


def usage() -> str:
    datasets = "\n".join(f"  {name:<12} {summary}" for name, (_, _, summary) in BUILDERS.items())
    return f"usage: {PROG} {{{','.join(BUILDERS)}}} [options]\n\n{__doc__}\ndatasets:\n{datasets}\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(usage())
        return 0
    if not argv or argv[0] not in BUILDERS:
        given = f"unknown dataset {argv[0]!r}" if argv else "no dataset given"
        print(f"{usage()}\n{PROG}: error: {given}; choose one of {', '.join(BUILDERS)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    module_name, arguments_name, _ = BUILDERS[argv[0]]
    module = importlib.import_module(module_name)
    (args,) = parse_args(
        getattr(module, arguments_name), argv[1:], prog=f"{PROG} {argv[0]}", description=module.__doc__
    )
    try:
        return module.run(args)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        # Suggest skipping only for a record skipping would skip, and never to a user who passed the flag.
        if getattr(args, "on_error", None) == "raise" and error.skippable:
            print(
                "Fix the input, or pass --on-error skip to skip bad records (each is reported in the manifest).",
                file=sys.stderr,
            )
        else:
            print("Fix the input: this error stops the build even under --on-error skip.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
