"""Build the hub-ready dataset folders.

    python -m crosstrace.build crosstrace  --source ../shared/data/crosstrace --out build/crosstrace
    python -m crosstrace.build dacr-traces --n 5000 --seed 0 --out build/dacr-traces
    python -m crosstrace.build mcq         --crosstrace build/crosstrace --out build/mcq
    python -m crosstrace.build decontaminate --folders build/crosstrace build/dacr-traces build/mcq --dacr-bench <file>

`python -m crosstrace.build <dataset> --help` explains each one's options.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from crosstrace.errors import DataError

# sub-command -> (module holding add_arguments(parser) and run(args), one-line summary).
# Only the chosen builder is imported: each pulls in different heavy dependencies.
BUILDERS = {
    "crosstrace": ("crosstrace.build.crosstrace_dataset", "the CrossTrace hypothesis-generation traces"),
    "dacr-traces": ("crosstrace.build.dacr_traces", "document-reasoning traces from the challenge engine"),
    "mcq": ("crosstrace.build.mcq_dataset", "WildSci-style ten-option science questions"),
    # Not a dataset: the n-gram overlap report between the built training and evaluation sets.
    "decontaminate": ("crosstrace.decontaminate", "n-gram overlap of training data with every evaluation set"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m crosstrace.build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="dataset", required=True, metavar="{" + ",".join(BUILDERS) + "}")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    module = None
    for name, (module_name, summary) in BUILDERS.items():
        if name != chosen:
            commands.add_parser(name, help=summary)
            continue
        module = importlib.import_module(module_name)
        sub = commands.add_parser(
            name, help=summary, description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(sub)
    args = parser.parse_args(argv)
    try:
        return module.run(args)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        if getattr(args, "on_error", None) == "raise":  # never tell a user to pass the flag they passed
            print(
                "Fix the input, or pass --on-error skip to skip bad records (each is reported in the manifest).",
                file=sys.stderr,
            )
        else:
            print("Fix the input: this error stops the build even under --on-error skip.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
