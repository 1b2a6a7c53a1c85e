"""The Hub repositories of the release, named under an organisation chosen at run time.

The organisation is never written into the code: `--hub-org`, else `$CROSSTRACE_HUB_ORG`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

HUB_ORG_ENV = "CROSSTRACE_HUB_ORG"
# Dataset cards are rendered when a dataset is built, before anyone has chosen where to publish
# it: they spell the release's Hub ids `<org>/<name>`, and staging fills in the organisation.
ORG_PLACEHOLDER = "<org>/"
# Hub namespaces: letters, digits, '-', '_' and '.', not starting with a separator.
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")

# dataset built by `python -m crosstrace.builders <key>` -> its repository name
DATASET_REPOS = {"crosstrace": "crosstrace", "dacr-traces": "crosstrace-dacr-traces", "mcq": "crosstrace-mcq"}
ADAPTER_REPO = "crosstrace-qwen2.5-7b-instruct-qlora"
RESULTS_REPO = "crosstrace-results"


def is_hub_id(value: object) -> bool:
    """`namespace/name`, as the Hub spells repository ids (not a path, not a `builtin:` model)."""
    return isinstance(value, str) and bool(_REPO_ID.match(value))


class HubOrgError(ValueError):
    pass


def resolve_hub_org(hub_org: str | None) -> str:
    org = hub_org or os.environ.get(HUB_ORG_ENV)
    if not org:
        raise HubOrgError(f"no Hub organisation: pass --hub-org <user-or-org> or set {HUB_ORG_ENV}")
    if not _NAMESPACE.match(org):
        raise HubOrgError(f"{org!r} is not a valid Hub user or organisation name")
    return org


@dataclass(frozen=True)
class ReleaseRepos:
    hub_org: str
    adapter_name: str = ADAPTER_REPO
    results_name: str = RESULTS_REPO

    def dataset(self, key: str) -> str:
        return f"{self.hub_org}/{DATASET_REPOS[key]}"

    @property
    def adapter(self) -> str:
        return f"{self.hub_org}/{self.adapter_name}"

    @property
    def results(self) -> str:
        return f"{self.hub_org}/{self.results_name}"

    @property
    def datasets(self) -> list[str]:
        return [self.dataset(key) for key in DATASET_REPOS]


def hub_url(repo_id: str, repo_type: str, endpoint: str = "https://huggingface.co") -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{endpoint.rstrip('/')}/{prefix}{repo_id}"
