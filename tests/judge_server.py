"""A scripted OpenAI-compatible judge endpoint on 127.0.0.1 for tests: it answers from a list (or a
function of the request), can be slow, and records every request, its headers and the most
requests it had in flight at once. `judged_scoring`: `evaluate.py score` with any judge server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RELEASE = Path(__file__).resolve().parent / "fixtures" / "evaluation" / "crosstrace_release"
HYPOTHESIS_OUTPUT = "Core insight: warming breaks the symbiosis.\n\nHypothesis: shaded corals bleach less."


class Script:
    """What the fake endpoint answers, request by request, and what it saw."""

    def __init__(self, responses, delay=0.0, reply_for=None):
        self.responses = list(responses)
        self.delay = delay
        self.reply_for = reply_for  # body -> response, instead of the list (e.g. one prompt gets a 400)
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


def chat_reply(text):
    return 200, {}, json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})


def judge_server_factory():
    """A fixture body: `start(script)` serves `script` on 127.0.0.1 and returns its /v1 base URL."""
    started = []

    def start(script: Script) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with script.lock:
                    script.requests.append(body)
                    script.headers.append(dict(self.headers))
                    script.in_flight += 1
                    script.max_in_flight = max(script.max_in_flight, script.in_flight)
                time.sleep(script.delay)
                status, headers, payload = script.reply_for(body) if script.reply_for else script.next()
                with script.lock:
                    script.in_flight -= 1
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload.encode("utf-8"))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on this request (a timeout test)

            def log_message(self, *args):
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def judged_scoring(evaluate_script, tmp_path: Path, monkeypatch, records=(1, 2)):
    """`run(base_url, *flags, model="judge") -> (exit code, run folder)`: `evaluate.py score` of one
    hypothesis output per release record in `records`, with IAScore from the judge at `base_url`.
    Each call writes a new run folder; the judge's cache and environment are this test's own."""
    monkeypatch.setenv("CROSSTRACE_CACHE", str(tmp_path / "cache"))
    for name in ("CROSSTRACE_JUDGE_MODEL", "CROSSTRACE_JUDGE_BASE_URL", "CROSSTRACE_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    predictions = tmp_path / "outputs.jsonl"
    predictions.write_text(
        "".join(json.dumps({"id": f"all/test_ours:{i}", "output": HYPOTHESIS_OUTPUT}) + "\n" for i in records)
    )

    def run(base_url: str, *flags: str, model: str = "judge") -> tuple[int, Path]:
        out = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
        data = ["--data", str(RELEASE), "--crosstrace_configs", "all", "--predictions", str(predictions)]
        output = ["--output_dir", str(out), "--bootstrap", "20", "--plots", "false"]
        judge = ["--judge_model", model, "--judge_base_url", base_url]
        code = evaluate_script.main(["score", "--task", "crosstrace", *data, *output, *judge, *flags])
        return code, out

    return run
