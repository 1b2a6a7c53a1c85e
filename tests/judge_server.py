"""A scripted OpenAI-compatible judge endpoint on 127.0.0.1 for tests: it answers from a list (or a
function of the request), can be slow, and records every request, its headers and the most
requests it had in flight at once."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
