"""The README's results tables and demo figures, generated from `dacr_results/` between markers.

    python -m crosstrace.publish.readme_results            # re-render the blocks in README.md
    python -m crosstrace.publish.readme_results --check    # exit 1 when a block is stale

The results block is built by `crosstrace.publish.tables.all_runs_section`, the code that writes
the model card's and the results dataset's tables, so the README cannot drift from the cards. The
demo block (optional: only where its markers are) is `crosstrace.publish.demo_section`'s: the demo's
stage times and learning curve. Everything outside the markers is left byte for byte as it was.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.cli import run_command
from crosstrace.errors import DataError
from crosstrace.paths import REPO_ROOT
from crosstrace.publish.demo_section import render_demo_section
from crosstrace.publish.tables import all_runs_section
from crosstrace.results_schema import DEFAULT_RESULTS_DIR, load_runs

START = "<!-- results:start -->"
END = "<!-- results:end -->"
DEMO_START = "<!-- demo:start -->"
DEMO_END = "<!-- demo:end -->"
_NOTE = "<!-- Generated from dacr_results/ by `python -m crosstrace.publish.readme_results`: edit the results, not this block. -->"


class MarkerError(ValueError):
    pass


def render_block(results_dir: str | Path) -> str:
    """The text between the results markers (markers excluded)."""
    runs, _ = load_runs(results_dir)
    return f"\n{_NOTE}\n\n{all_runs_section(runs, heading_level=3)}\n\n"


def render_demo_block(results_dir: str | Path) -> str:
    """The text between the demo markers (markers excluded)."""
    return f"\n{_NOTE}\n\n{render_demo_section(results_dir)}\n\n"


# (start marker, end marker, renderer, whether a README must have the block)
BLOCKS = ((START, END, render_block, True), (DEMO_START, DEMO_END, render_demo_block, False))


def _bounds(text: str, path: Path, start_marker: str = START, end_marker: str = END) -> tuple[int, int]:
    start, end = text.find(start_marker), text.find(end_marker)
    if start == -1 or end == -1 or end < start or text.count(start_marker) != 1 or text.count(end_marker) != 1:
        raise MarkerError(
            f"{path}: needs exactly one '{start_marker}' followed by one '{end_marker}' (a generated block goes between them)"
        )
    return start + len(start_marker), end


def current_block(readme: str | Path, start_marker: str = START, end_marker: str = END) -> str:
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    start, end = _bounds(text, path, start_marker, end_marker)
    return text[start:end]


def _rendered(text: str, path: Path, results_dir: str | Path) -> str:
    """`text` with every block it holds re-rendered (a required block missing is an error)."""
    for start_marker, end_marker, render, required in BLOCKS:
        if not required and start_marker not in text and end_marker not in text:
            continue
        start, end = _bounds(text, path, start_marker, end_marker)
        text = text[:start] + render(results_dir) + text[end:]
    return text


def is_current(readme: str | Path, results_dir: str | Path) -> bool:
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    return _rendered(text, path, results_dir) == text


def sync_readme(readme: str | Path, results_dir: str | Path) -> bool:
    """Rewrite the blocks; returns whether anything changed."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    rendered = _rendered(text, path, results_dir)
    if rendered == text:
        return False
    path.write_text(rendered, encoding="utf-8")
    return True


@dataclass
class ReadmeResultsArguments:
    readme: Path = field(default=REPO_ROOT / "README.md", metadata={"help": "the file holding the markers"})
    results: Path = field(default=REPO_ROOT / DEFAULT_RESULTS_DIR, metadata={"help": "folder of evaluation runs"})
    check: bool = field(
        default=False, metadata={"help": "write nothing; exit 1 when the block differs from a fresh render"}
    )


def run(args: ReadmeResultsArguments) -> int:
    if args.check:
        if not is_current(args.readme, args.results):
            print(
                f"{args.readme}: a generated block is out of date; run python -m crosstrace.publish.readme_results",
                file=sys.stderr,
            )
            return 1
        print(f"{args.readme}: the generated blocks are up to date")
        return 0
    changed = sync_readme(args.readme, args.results)
    print(f"{args.readme}: generated blocks {'re-rendered' if changed else 'already up to date'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        ReadmeResultsArguments,
        run,
        argv,
        prog="python -m crosstrace.publish.readme_results",
        description=__doc__,
        errors=(MarkerError, DataError),
    )


if __name__ == "__main__":
    sys.exit(main())
