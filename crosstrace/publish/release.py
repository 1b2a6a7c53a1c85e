"""`upload.py`'s logic: stage, check, print, and (with --push) push. See upload.py for the commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from huggingface_hub.errors import HfHubHTTPError

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.paths import refuse_overlap
from crosstrace.publish.checks import CheckResult, run_checks
from crosstrace.publish.limits import Limits, human_size
from crosstrace.publish.push import PushError, push_staged, validate_target
from crosstrace.publish.repos import (
    ADAPTER_REPO,
    DATASET_REPOS,
    RESULTS_REPO,
    HubOrgError,
    ReleaseRepos,
    hub_url,
    resolve_hub_org,
)
from crosstrace.publish.stage import StagedRepo, stage_adapter, stage_datasets, stage_results
from crosstrace.publish.training_facts import release_output_dir

TARGETS = ("datasets", "adapter", "results", "all")
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_PUSH_FAILED = 0, 1, 2, 3


@dataclass
class UploadArguments:
    hub_org: str | None = field(
        default=None,
        metadata={
            "help": "Hub user or organisation to publish under. Default: $CROSSTRACE_HUB_ORG. Never hard-coded."
        },
    )
    stage_dir: str = field(
        default="build/stage",
        metadata={"help": "Where the repositories are staged, one folder each (replaced on every run)."},
    )
    push: bool = field(
        default=False,
        metadata={"help": "Push after the checks pass. Without it, a dry run: stage, check, print, push nothing."},
    )
    revision: str | None = field(
        default=None,
        metadata={
            "help": "Branch to commit to (created from the default branch when missing). Default: the default branch."
        },
    )
    create_pr: bool = field(
        default=False, metadata={"help": "Open a pull request against the default branch instead of committing to it."}
    )
    datasets_dir: str = field(
        default="build",
        metadata={
            "help": "Folder holding the built datasets (<dir>/crosstrace, <dir>/dacr-traces, <dir>/mcq) from `python -m crosstrace.builders`."
        },
    )
    datasets: str = field(
        default=",".join(DATASET_REPOS),
        metadata={"help": f"Comma-separated datasets to publish, among {', '.join(DATASET_REPOS)}."},
    )
    adapter_dir: str | None = field(
        default=None,
        metadata={
            "help": "train.py's output_dir (adapter, tokenizer, recipe.yaml, run_metadata.json). Default: the output_dir of recipes/qwen2.5-7b-qlora.yaml."
        },
    )
    adapter_name: str = field(default=ADAPTER_REPO, metadata={"help": "Name of the adapter's model repository."})
    base_model: str | None = field(
        default=None,
        metadata={
            "help": "Hub id to write as the adapter's base_model_name_or_path, when it was trained from a local folder or a builtin: model."
        },
    )
    base_config: str | None = field(
        default=None,
        metadata={
            "help": "Where the check finds the base model's config.json (a folder, a builtin: model, a cached Hub id). Default: the adapter's base."
        },
    )
    results_dir: str = field(
        default="dacr_results", metadata={"help": "Folder of evaluation runs written by evaluate.py."}
    )
    results_name: str = field(default=RESULTS_REPO, metadata={"help": "Name of the results dataset repository."})
    max_file_size: str = field(
        default="2GB",
        metadata={
            "help": "Largest file staged or pushed (B, KB, MB, GB; powers of 1024). A larger file is refused before it is opened or copied."
        },
    )
    max_read_size: str = field(
        default="64MB",
        metadata={
            "help": "Largest file read whole: cards, JSON settings, results.json, a tokenizer's settings, and the text files whose local paths staging rewrites (larger text files are copied as they are and scanned in pieces)."
        },
    )
    on_error: Literal["raise", "skip"] = field(
        default="raise",
        metadata={
            "help": "A bad line in a run's samples.jsonl stops staging (raise) or is skipped and listed (skip)."
        },
    )

    def dataset_keys(self) -> list[str]:
        keys = [k.strip() for k in self.datasets.split(",") if k.strip()]
        unknown = [k for k in keys if k not in DATASET_REPOS]
        if unknown or not keys:
            raise ValueError(
                f"--datasets: unknown {unknown or self.datasets!r}; choose among {', '.join(DATASET_REPOS)}"
            )
        return keys


def _path(value: str) -> Path:
    # Relative to the working directory, like any command line; the defaults assume the repository root.
    return Path(value).resolve()


def stage(target: str, args: UploadArguments, repos: ReleaseRepos) -> list[StagedRepo]:
    stage_root = _path(args.stage_dir)
    limits = Limits.from_options(args.max_file_size, args.max_read_size)
    staged: list[StagedRepo] = []
    if target in ("datasets", "all"):
        staged += stage_datasets(_path(args.datasets_dir), args.dataset_keys(), repos, stage_root, limits)
    if target in ("results", "all"):
        staged.append(stage_results(_path(args.results_dir), repos, stage_root, ErrorPolicy(args.on_error), limits))
    if target in ("adapter", "all"):
        adapter_dir = args.adapter_dir or release_output_dir()
        if not adapter_dir:
            missing = StagedRepo("adapter", repos.adapter, "model", stage_root / "models" / repos.adapter_name)
            missing.problems.append(
                "no --adapter-dir, and no release recipe naming an output_dir: pass train.py's output_dir"
            )
            staged.append(missing)
        else:
            staged.append(
                stage_adapter(
                    _path(adapter_dir),
                    repos,
                    stage_root,
                    _path(args.results_dir),
                    args.base_model,
                    args.base_config,
                    limits,
                )
            )
    return staged


def format_tree(repo: StagedRepo) -> list[str]:
    lines, shown_dirs = [], set()
    for path in repo.files():
        relative = path.relative_to(repo.folder)
        for depth, part in enumerate(relative.parts[:-1]):
            key = relative.parts[: depth + 1]
            if key not in shown_dirs:
                shown_dirs.add(key)
                lines.append(f"{'  ' * (depth + 3)}{part}/")
        lines.append(f"{'  ' * (len(relative.parts) + 2)}{relative.name}  ({human_size(path.lstat().st_size)})")
    return lines


def format_report(repo: StagedRepo, checks: list[CheckResult]) -> str:
    lines = [
        f"== {repo.kind} {repo.repo_id}",
        f"   would create: {hub_url(repo.repo_id, repo.repo_type)} ({repo.repo_type} repository)",
        f"   staged in {repo.folder}:",
    ]
    lines += format_tree(repo) or ["      (nothing)"]
    if repo.notes:
        lines.append("   staging notes:")
        lines += [f"      - {note}" for note in repo.notes]
    lines.append("   checks:")
    for check in checks:
        lines.append(f"      {'PASS' if check.passed else 'FAIL'} {check.name:<8} {check.detail}")
        lines += [f"           - {problem}" for problem in check.problems]
    return "\n".join(lines)


def main(target: str, args: UploadArguments) -> int:
    try:
        repos = ReleaseRepos(
            resolve_hub_org(args.hub_org), adapter_name=args.adapter_name, results_name=args.results_name
        )
        validate_target(args.revision, args.create_pr)
        # the dataset folders themselves, not --datasets-dir: the default stage build/stage lies inside build/
        inputs = {f"--datasets-dir's {key}": Path(args.datasets_dir) / key for key in args.dataset_keys()}
        inputs.update({"--results-dir": args.results_dir, "--adapter-dir": args.adapter_dir})
        refuse_overlap(args.stage_dir, inputs, "--stage-dir")
        staged = stage(target, args, repos)
    except (HubOrgError, PushError, ValueError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    checks = {}
    for repo in staged:
        checks[repo.repo_id] = run_checks(repo)
        print(format_report(repo, checks[repo.repo_id]), flush=True)
        print()
    failed = sum(not check.passed for results in checks.values() for check in results)
    print(f"== {len(staged)} repositories staged under {_path(args.stage_dir)}: {failed} check(s) failed")
    if failed:
        print("Nothing was pushed. Fix what failed above and run again.")
        return EXIT_CHECK_FAILED
    if not args.push:
        print(
            "Dry run: nothing was pushed. Re-run with --push to create these repositories and push one commit to each."
        )
        return EXIT_OK
    try:
        pushed = push_staged(staged, checks, revision=args.revision, create_pr=args.create_pr)
    except PushError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except HfHubHTTPError as error:
        print(f"error: the Hub refused the push: {error}", file=sys.stderr)
        return EXIT_PUSH_FAILED
    for item in pushed:
        print(
            f"pushed {item.repo_id}: {item.url}\n   commit: {item.commit_url}"
            + (f"\n   pull request: {item.pr_url}" if item.pr_url else "")
        )
    return EXIT_OK
