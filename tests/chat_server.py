"""A canned OpenAI-compatible /v1/chat/completions on 127.0.0.1 for tests of the openai backend."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def refuse_by_message(user: str) -> int | None:
    """The default refusals: "bad request" gets 400 (as vLLM answers a prompt over its context),
    "unknown model" gets 404 (as a server answers a model name it does not serve)."""
    return {"bad request": 400, "unknown model": 404}.get(user)


class ChatServer:
    """Replies `reply(last user message)`, by default "echo: <message>", after `delay` seconds (a number,
    or a function of the message); `usage` reports completion_tokens 2 and prompt_tokens = the
    messages' characters (a stand-in for an exact count).

    `fail_first` requests get HTTP 503 (with Retry-After: 0); `refuse(message)` gives a status to
    answer instead (see `refuse_by_message`). It records every request body, when each request
    started and ended, and the most requests it ever had in flight at once.
    """

    def __init__(self, fail_first: int = 0, delay=0.0, reply=lambda user: f"echo: {user}", refuse=refuse_by_message):
        self.fail_first, self.reply, self.refuse = fail_first, reply, refuse
        self.delay = delay if callable(delay) else (lambda user: delay)
        self.requests: list[dict] = []
        self.spans: dict[str, tuple[float, float]] = {}  # last user message -> (start, end)
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                user = body["messages"][-1]["content"]
                started = time.monotonic()
                with server.lock:
                    server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                    failing = len(server.requests) <= server.fail_first
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay(user))
                    status = server.refuse(user)
                    if failing:
                        self._send(503, {"error": "overloaded"}, {"Retry-After": "0"})
                    elif status is not None:
                        self._send(status, {"error": {"message": f"refused with {status}"}})
                    else:
                        prompt_chars = sum(len(m["content"]) for m in body["messages"])
                        reply = {
                            "choices": [
                                {
                                    "message": {"role": "assistant", "content": server.reply(user)},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"completion_tokens": 2, "prompt_tokens": prompt_chars},
                        }
                        self._send(200, reply)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                        server.spans[user] = (started, time.monotonic())

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
