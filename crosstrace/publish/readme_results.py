"""The README's results tables, generated from `dacr_results/` between two markers.

    python -m crosstrace.publish.readme_results            # re-render the block in README.md
    python -m crosstrace.publish.readme_results --check    # exit 1 when the block is stale

The block is built by `crosstrace.publish.tables.all_runs_section`, the code that writes the
model card's and the results dataset's tables, so the README cannot drift from the cards.
Everything outside the markers is left byte for byte as it was.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.cli import run_command
from crosstrace.errors import DataError
from crosstrace.paths import REPO_ROOT
from crosstrace.publish.tables import all_runs_section
from crosstrace.results_schema import DEFAULT_RESULTS_DIR, load_runs

START = "<!-- results:start -->"
END = "<!-- results:end -->"
_NOTE = "<!-- Generated from dacr_results/ by `python -m crosstrace.publish.readme_results`: edit the results, not this block. -->"


class MarkerError(ValueError):
    pass


def render_block(results_dir: str | Path) -> str:
    """The text between the markers (markers excluded)."""
    runs, _ = load_runs(results_dir)
    return f"\n{_NOTE}\n\n{all_runs_section(runs, heading_level=3)}\n\n"


def _bounds(text: str, path: Path) -> tuple[int, int]:
    start, end = text.find(START), text.find(END)
    if start == -1 or end == -1 or end < start or text.count(START) != 1 or text.count(END) != 1:
        raise MarkerError(
            f"{path}: needs exactly one '{START}' followed by one '{END}' (the generated results block goes between them)"
        )
    return start + len(START), end


def current_block(readme: str | Path) -> str:
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    start, end = _bounds(text, path)
    return text[start:end]


def sync_readme(readme: str | Path, results_dir: str | Path) -> bool:
    """Rewrite the block; returns whether anything changed."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    start, end = _bounds(text, path)
    block = render_block(results_dir)
    if text[start:end] == block:
        return False
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")
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
        if current_block(args.readme) != render_block(args.results):
            print(
                f"{args.readme}: the results block is out of date; run python -m crosstrace.publish.readme_results",
                file=sys.stderr,
            )
            return 1
        print(f"{args.readme}: the results block is up to date")
        return 0
    changed = sync_readme(args.readme, args.results)
    print(f"{args.readme}: results block {'re-rendered' if changed else 'already up to date'}")
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
