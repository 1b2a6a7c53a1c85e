"""The evaluate-library metric modules load offline with evaluate.load(<folder>).

They run in a subprocess from a scratch folder: the repository's own evaluate.py would shadow
the `evaluate` library when the repository root is on sys.path (e.g. under python -m pytest).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_metric_modules_load_offline(tmp_path, fixtures_dir):
    package_dir = tmp_path / "pkg"
    package_dir.mkdir()
    (package_dir / "crosstrace").symlink_to(REPO / "crosstrace")
    bench = json.loads((fixtures_dir / "scoring" / "bench.json").read_text())["challenges"]
    (tmp_path / "challenges.json").write_text(json.dumps(bench))
    script = textwrap.dedent(
        f"""
        import json
        import evaluate
        challenges = json.load(open("challenges.json"))
        gold = [json.dumps({{q["questionId"]: {{"answer": q["goldAnswer"], "confidence": 1.0}} for q in c["questions"]}}) for c in challenges]
        echo_e = [json.dumps({{q["questionId"]: {{"answer": "e"}} for q in c["questions"]}}) for c in challenges]
        refs = [json.dumps(c) for c in challenges]
        strict = evaluate.load("{REPO / "metrics" / "dacr_score"}")
        reference = evaluate.load("{REPO / "metrics" / "dacr_score"}", "reference")
        compliance = evaluate.load("{REPO / "metrics" / "structural_compliance"}")
        out = {{
            "gold_strict": strict.compute(predictions=gold, references=refs)["accuracy"],
            "gold_reference": reference.compute(predictions=gold, references=refs)["accuracy"],
            "e_strict": strict.compute(predictions=echo_e, references=refs),
            "e_reference": reference.compute(predictions=echo_e, references=refs, bootstrap=50)["accuracy"],
            "compliance": compliance.compute(predictions=["Core insight: x\\n\\nReasoning:\\n1. a\\n2. b\\n3. c\\n\\nHypothesis: h\\n\\nApproach: p", "free text"]),
            "hypogen": evaluate.load("{REPO / "metrics" / "structural_compliance"}", "hypogen").compute(predictions=["Core insight: x\\n\\nReasoning:\\nI think so.\\n\\nHypothesis: h"])["structural_compliance"],
        }}
        print(json.dumps(out))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(package_dir),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["gold_strict"] == 1.0 and out["gold_reference"] == 1.0
    assert (
        out["e_strict"]["accuracy"] == 0.0
        and out["e_strict"]["scoring"] == "strict"
        and out["e_strict"]["unparsed_outputs"] == 0
    )
    assert out["e_reference"] == 4 / 12  # "e" is contained in 4 of the fixture's 12 gold answers
    assert (
        out["compliance"]["structural_compliance"] == 0.5 and out["compliance"]["violations"]["missing_section"] == 4
    )
    assert out["hypogen"] == 1.0
