"""Publish the release: the three datasets, the adapter and the evaluation results.

    # dry run (the default): stage exactly what would be pushed, check it, print the tree,
    # the checks and the repository ids; push nothing. Exits non-zero when a check fails.
    python upload.py all --hub-org <user-or-org>   # the adapter from recipes/qwen2.5-7b-qlora.yaml's output_dir
    python upload.py datasets                      # build/crosstrace, build/dacr-traces, build/mcq
    python upload.py results                       # dacr_results/ as a dataset
    python upload.py adapter --adapter-dir outputs/demo \\
        --base-model HuggingFaceTB/SmolLM2-135M-Instruct    # a demo adapter trained on a builtin: base

    # push: create each repository if needed, then one commit per repository
    python upload.py all --push
    python upload.py adapter --push --create-pr
    python upload.py datasets --push --revision v0.1

The organisation comes from --hub-org, else $CROSSTRACE_HUB_ORG; the token from $HF_TOKEN or
`hf auth login`. Staged folders go to --stage-dir (default build/stage), one per repository.
Options may come from `--config <yaml>` (keys = option names; flags override). Paths are
relative to the working directory: run it from the repository root. What is staged is in
crosstrace/publish/allowed_files.py (no symbolic link is ever followed), what is checked, and why,
in crosstrace/publish/checks.py; --max-file-size (2GB) and --max-read-size (64MB) set the size
limits, checked before a file is opened.
"""

from __future__ import annotations

import sys

from crosstrace.cli import make_parser, parse
from crosstrace.publish.release import TARGETS, UploadArguments, main


def cli(argv: list[str] | None = None) -> int:
    parser = make_parser(UploadArguments, prog="upload.py", description=__doc__)
    parser.add_argument("target", choices=TARGETS, help="what to stage and check (and push with --push)")
    (args,), namespace = parse(parser, sys.argv[1:] if argv is None else argv)
    return main(namespace.target, args)


if __name__ == "__main__":
    sys.exit(cli())
