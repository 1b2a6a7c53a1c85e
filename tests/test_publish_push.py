"""The push path against a local stand-in for the Hub that records every call.

The stand-in answers the HTTP calls huggingface_hub 2.4 makes for `create_repo`,
`create_branch`, `upload_folder` (README metadata validation, `/preupload`, the NDJSON
`/commit`) and `create_pull_request` (`/discussions`). It tells the client to send every file
inline ("regular" upload mode, as the Hub does for small files), so no LFS or Xet transfer is
involved; anything else the client asks for is answered 404 and recorded, and the tests assert
that nothing was.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from huggingface_hub import HfApi
from publish_fixtures import RESULTS_FIXTURE, write_dataset_folder, write_training_output

from crosstrace.paths import REPO_ROOT
from crosstrace.publish.checks import CheckResult, run_checks
from crosstrace.publish.push import PushError, push_staged
from crosstrace.publish.repos import ReleaseRepos
from crosstrace.publish.stage import StagedRepo, stage_results

REPOS = ReleaseRepos("test-org")
_REPO_ROUTE = re.compile(
    r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)/(preupload|commit|branch|discussions)(?:/(.+))?$"
)


@dataclass
class FakeHub:
    url: str = ""
    repos: set[tuple[str, str]] = field(default_factory=set)
    calls: list[tuple] = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)
    discussions: int = 0

    def of_kind(self, kind: str) -> list[tuple]:
        return [call for call in self.calls if call[0] == kind]


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub

    def log_message(self, *args):  # keep the test output clean
        pass

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/api/agent-harnesses":
            # huggingface_hub's best-effort, once-a-day user-agent registry fetch: not part of
            # publishing, and a 404 is what it tolerates.
            self.hub.calls.append(("client_registry", path))
            return self._reply(404, {})
        match = _REPO_ROUTE.match(path)
        if match and match.group(3) == "discussions" and match.group(4):
            repo_type, repo_id, num = match.group(1)[:-1], match.group(2), int(match.group(4))
            self.hub.calls.append(("get_discussion", repo_type, repo_id, num))
            return self._reply(
                200,
                {
                    "title": "upload",
                    "num": num,
                    "author": {"name": "tester"},
                    "createdAt": "2026-01-01T00:00:00.000Z",
                    "status": "draft",
                    "repo": {"name": repo_id, "type": repo_type},
                    "isPullRequest": True,
                    "events": [],
                    "changes": {"base": "refs/heads/main"},
                    "filesWithConflicts": [],
                    "diff": "",
                },
            )
        self.hub.calls.append(("unexpected", "GET", self.path))
        return self._reply(404, {"error": f"not emulated: GET {path}"})

    def do_POST(self):
        split = urlsplit(self.path)
        path, query, body = split.path, split.query, self._body()
        if path == "/api/repos/create":
            payload = json.loads(body)
            repo_type, repo_id = payload.get("type", "model"), f"{payload['organization']}/{payload['name']}"
            self.hub.calls.append(("create_repo", repo_type, repo_id))
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            if (repo_type, repo_id) in self.hub.repos:
                return self._reply(
                    409, {"error": "You already created this repo", "url": f"{self.hub.url}/{prefix}{repo_id}"}
                )
            self.hub.repos.add((repo_type, repo_id))
            return self._reply(200, {"url": f"{self.hub.url}/{prefix}{repo_id}", "name": repo_id})
        if path == "/api/validate-yaml":
            self.hub.calls.append(("validate_yaml", json.loads(body)["repoType"]))
            return self._reply(200, {"errors": [], "warnings": []})
        match = _REPO_ROUTE.match(path)
        if not match:
            self.hub.calls.append(("unexpected", "POST", self.path))
            return self._reply(404, {"error": f"not emulated: POST {path}"})
        repo_type, repo_id, action, rest = (
            match.group(1)[:-1],
            match.group(2),
            match.group(3),
            unquote(match.group(4) or ""),
        )
        if (repo_type, repo_id) not in self.hub.repos:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if action == "preupload":
            files = json.loads(body)["files"]
            self.hub.calls.append(("preupload", repo_type, repo_id, rest, query, sorted(f["path"] for f in files)))
            return self._reply(
                200,
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files
                    ]
                },
            )
        if action == "commit":
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = lines[0]["value"]
            files = {
                item["value"]["path"]: base64.b64decode(item["value"]["content"])
                for item in lines[1:]
                if item["key"] == "file"
            }
            other = [item["key"] for item in lines[1:] if item["key"] != "file"]
            oid = f"{len(self.hub.commits) + 1:040x}"
            self.hub.commits.append(
                {
                    "repo": (repo_type, repo_id),
                    "revision": rest,
                    "summary": header["summary"],
                    "files": files,
                    "other_ops": other,
                }
            )
            self.hub.calls.append(("commit", repo_type, repo_id, rest))
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            return self._reply(
                200, {"commitUrl": f"{self.hub.url}/{prefix}{repo_id}/commit/{oid}", "commitOid": oid, "success": True}
            )
        if action == "branch":
            self.hub.calls.append(("create_branch", repo_type, repo_id, rest))
            return self._reply(200, {})
        if action == "discussions" and not rest:
            self.hub.discussions += 1
            self.hub.calls.append(("create_pr", repo_type, repo_id, json.loads(body)["pullRequest"]))
            return self._reply(
                200,
                {"num": self.hub.discussions, "url": f"{self.hub.url}/{repo_id}/discussions/{self.hub.discussions}"},
            )
        self.hub.calls.append(("unexpected", "POST", self.path))
        return self._reply(404, {"error": f"not emulated: POST {path}"})


@pytest.fixture()
def fake_hub():
    hub = FakeHub()
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield hub
    server.shutdown()
    server.server_close()


def staged_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow  # a fresh interpreter runs upload.py end to end: about 20-35 s on 2 busy cores
def test_upload_all_push_makes_one_repo_and_one_commit_each_with_exactly_the_staged_files(tmp_path, fake_hub):
    write_dataset_folder(tmp_path / "build" / "crosstrace")
    write_training_output(tmp_path / "out", tmp_path / "base")
    stage = tmp_path / "stage"
    env = {
        **os.environ,
        "HF_ENDPOINT": fake_hub.url,
        "HF_TOKEN": "test-token-for-the-stand-in",
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf-home"),
    }
    env.pop("CROSSTRACE_HUB_ORG", None)
    command = [
        sys.executable, "upload.py", "all", "--hub-org", "test-org", "--push",
        "--datasets", "crosstrace", "--datasets-dir", str(tmp_path / "build"),
        "--results-dir", str(RESULTS_FIXTURE), "--stage-dir", str(stage),
        "--adapter-dir", str(tmp_path / "out"), "--base-model", "test-org/tiny-qwen2",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    expected = {
        ("dataset", "test-org/crosstrace"): stage / "datasets" / "crosstrace",
        ("dataset", "test-org/crosstrace-results"): stage / "datasets" / "crosstrace-results",
        ("model", REPOS.adapter): stage / "models" / REPOS.adapter_name,
    }
    assert sorted(call[1:] for call in fake_hub.of_kind("create_repo")) == sorted(expected)
    assert sorted(c["repo"] for c in fake_hub.commits) == sorted(expected)  # one commit per repository
    for commit in fake_hub.commits:
        assert commit["revision"] == "main" and commit["other_ops"] == []
        assert commit["files"] == staged_files(expected[commit["repo"]])  # exactly the staged files, byte for byte
    assert fake_hub.of_kind("unexpected") == []
    for repo_type, repo_id in expected:
        url = f"{fake_hub.url}/{'' if repo_type == 'model' else 'datasets/'}{repo_id}"
        assert f"pushed {repo_id}: {url}" in done.stdout


@pytest.fixture()
def results_stage(tmp_path) -> tuple[StagedRepo, dict[str, list[CheckResult]]]:
    staged = stage_results(RESULTS_FIXTURE, REPOS, tmp_path / "stage")
    return staged, {staged.repo_id: run_checks(staged)}


@pytest.fixture()
def online(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "test-token-for-the-stand-in")


def test_create_pr_opens_a_pull_request_and_commits_to_its_ref(results_stage, fake_hub, online):
    staged, checks = results_stage
    (pushed,) = push_staged([staged], checks, create_pr=True, api=HfApi(endpoint=fake_hub.url))
    publishing = [call[0] for call in fake_hub.calls if call[0] != "client_registry"]
    assert publishing == ["create_repo", "validate_yaml", "preupload", "create_pr", "get_discussion", "commit"]
    assert fake_hub.of_kind("preupload")[0][4] == "create_pr=1"
    assert fake_hub.commits[0]["revision"] == "refs/pr/1"
    assert fake_hub.commits[0]["files"] == staged_files(staged.folder)
    assert pushed.pr_url and pushed.pr_url.endswith("/discussions/1")


def test_revision_commits_to_that_branch_and_a_second_push_reuses_the_repo(results_stage, fake_hub, online):
    staged, checks = results_stage
    api = HfApi(endpoint=fake_hub.url)
    push_staged([staged], checks, revision="v0.1", api=api)
    push_staged([staged], checks, revision="v0.1", api=api)
    assert fake_hub.of_kind("create_branch") == [("create_branch", "dataset", REPOS.results, "v0.1")] * 2
    assert [c["revision"] for c in fake_hub.commits] == ["v0.1", "v0.1"]
    assert (
        len(fake_hub.of_kind("create_repo")) == 2 and len(fake_hub.repos) == 1
    )  # the second creation answered 409, accepted


def test_a_failed_check_stops_the_push_before_any_call(results_stage, fake_hub, online):
    staged, checks = results_stage
    checks[staged.repo_id].append(
        CheckResult("secrets", False, "1 problem(s)", ["README.md line 3: Hugging Face token: hf_abc…"])
    )
    with pytest.raises(PushError, match="checks failed"):
        push_staged([staged], checks, api=HfApi(endpoint=fake_hub.url))
    assert fake_hub.calls == []


def test_push_refuses_offline_mode_and_create_pr_with_a_revision(results_stage, fake_hub, monkeypatch):
    staged, checks = results_stage
    with pytest.raises(PushError, match="HF_HUB_OFFLINE"):
        push_staged([staged], checks, api=HfApi(endpoint=fake_hub.url))
    with pytest.raises(PushError, match="cannot be combined"):
        push_staged([staged], checks, revision="v0.1", create_pr=True, api=HfApi(endpoint=fake_hub.url))
    assert fake_hub.calls == []


def test_dry_run_exit_codes(tmp_path, capsys, monkeypatch):
    from publish_fixtures import copy_results

    from crosstrace.publish.release import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, UploadArguments, main

    monkeypatch.delenv("CROSSTRACE_HUB_ORG", raising=False)
    results = copy_results(tmp_path / "results")
    args = UploadArguments(hub_org="test-org", results_dir=str(results), stage_dir=str(tmp_path / "stage"))
    assert main("results", args) == EXIT_OK
    out = capsys.readouterr().out
    assert (
        "would create: https://huggingface.co/datasets/test-org/crosstrace-results" in out
        and "Dry run: nothing was pushed" in out
    )

    report = results / "fixture-smollm2-demo" / "report.md"
    report.write_text(report.read_text() + "\nRun with HF_TOKEN=hf_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3h\n")
    assert main("results", args) == EXIT_CHECK_FAILED
    out = capsys.readouterr().out
    assert "FAIL secrets" in out and "runs/fixture-smollm2-demo/report.md" in out and "Nothing was pushed" in out

    assert main("results", UploadArguments(results_dir=str(results))) == EXIT_USAGE
    assert "--hub-org" in capsys.readouterr().err
