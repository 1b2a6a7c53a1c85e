"""The offline install plan for GPU machines (scripts/wheelhouse.txt): pinned as requirements.txt, installable --no-index.

CI never downloads the wheelhouse; it checks the list against the pins and that pip resolves an
install from a local folder of wheels with no index.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from crosstrace.paths import REPO_ROOT


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_wheelhouse_list_is_pinned_like_requirements():
    wheels = _pins(REPO_ROOT / "scripts" / "wheelhouse.txt")
    required = _pins(REPO_ROOT / "requirements.txt")
    assert {"trl", "datasets", "bitsandbytes", "dill", "multiprocess"} <= set(wheels)
    for name in set(wheels) & set(required):
        assert wheels[name] == required[name], (
            f"scripts/wheelhouse.txt pins {name}=={wheels[name]}, requirements.txt {required[name]}"
        )


def _wheel(folder, name: str, version: str) -> None:
    """A minimal valid wheel (metadata only) standing in for a downloaded one."""
    dist = f"{name.replace('-', '_')}-{version}"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}.dist-info/RECORD", "")


def test_the_install_command_resolves_from_a_local_wheelhouse_without_an_index(tmp_path):
    wheels = _pins(REPO_ROOT / "scripts" / "wheelhouse.txt")
    for name, version in wheels.items():
        _wheel(tmp_path, name, version)
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--report", str(report)]
    command += [
        "--no-index",
        "--find-links",
        str(tmp_path),
        "--no-deps",
        "-r",
        str(REPO_ROOT / "scripts" / "wheelhouse.txt"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    planned = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert planned == wheels
