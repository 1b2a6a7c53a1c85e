"""Push staged repositories: create each repository if needed, then ONE commit of its staged folder.

Nothing is pushed unless every check of every staged repository passed. The token comes from
`$HF_TOKEN` or the saved login (`hf auth login`); the endpoint from `$HF_ENDPOINT` (tests point
it at a local stand-in for the Hub). `--revision` commits to that branch (created from the
default branch when missing); `--create-pr` opens a pull request instead of committing to the
default branch (huggingface_hub opens PRs against the default branch only, so the two exclude
each other).
"""

from __future__ import annotations

from dataclasses import dataclass

from huggingface_hub import HfApi, constants, get_token

from crosstrace import __version__
from crosstrace.publish.checks import CheckResult
from crosstrace.publish.repos import hub_url
from crosstrace.publish.stage import StagedRepo

DEFAULT_BRANCH = "main"


class PushError(RuntimeError):
    pass


@dataclass(frozen=True)
class Pushed:
    repo_id: str
    repo_type: str
    url: str
    commit_url: str
    pr_url: str | None


def validate_target(revision: str | None, create_pr: bool) -> None:
    if create_pr and revision not in (None, DEFAULT_BRANCH):
        raise PushError(
            "--create-pr opens a pull request against the default branch; it cannot be combined with --revision"
        )


def push_staged(
    staged: list[StagedRepo],
    checks: dict[str, list[CheckResult]],
    *,
    revision: str | None = None,
    create_pr: bool = False,
    api: HfApi | None = None,
) -> list[Pushed]:
    failed = [
        f"{repo_id}: {check.name}" for repo_id, results in checks.items() for check in results if not check.passed
    ]
    if failed:
        raise PushError("refusing to push: checks failed (" + "; ".join(failed) + ")")
    missing = [repo.repo_id for repo in staged if repo.repo_id not in checks]
    if missing:
        raise PushError(f"refusing to push repositories that were not checked: {missing}")
    validate_target(revision, create_pr)
    if constants.is_offline_mode():
        raise PushError("HF_HUB_OFFLINE is set: unset it to push (the dry run works offline)")
    token = get_token()
    if not token:
        raise PushError("no Hugging Face token: run `hf auth login` or set HF_TOKEN to a token with write access")
    api = api or HfApi(token=token)
    pushed = []
    for repo in staged:
        api.create_repo(repo.repo_id, repo_type=repo.repo_type, exist_ok=True)
        if revision and revision != DEFAULT_BRANCH and not revision.startswith("refs/"):
            api.create_branch(repo.repo_id, repo_type=repo.repo_type, branch=revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo.repo_id,
            repo_type=repo.repo_type,
            folder_path=repo.folder,
            revision=revision,
            create_pr=create_pr,
            commit_message=f"Publish the {repo.kind} with upload.py (crosstrace {__version__})",
            commit_description="Staged and checked by `python upload.py`; see the card for how it was made.",
        )
        pushed.append(
            Pushed(
                repo.repo_id,
                repo.repo_type,
                hub_url(repo.repo_id, repo.repo_type, api.endpoint),
                info.commit_url,
                info.pr_url,
            )
        )
    return pushed
