"""A stand-in for the AWS Lambda Runtime API, enough for one invocation of a container image's runtime client.

The runtime interface emulator is a binary downloaded from GitHub, which this machine cannot fetch; the
protocol it speaks is four HTTP routes (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), so the test
serves them itself: `next` hands out the queued event once (later polls wait, as on AWS, until the server
stops), `response` and `error` record what the function returned.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:000000000000:function:fraud-drift-check"


class LambdaRuntimeApi:
    def __init__(self, event: dict[str, Any], request_id: str = "test-invocation-1") -> None:
        self.request_id = request_id
        self.outcomes: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._pending: queue.Queue[bytes] = queue.Queue()
        self._pending.put(json.dumps(event).encode())
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> LambdaRuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def outcome(self, timeout: float) -> tuple[str, Any]:
        """("response", body) or ("error", body) of the invocation, or ("init-error", body)."""
        return self.outcomes.get(timeout=timeout)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self.send_error(404)
                    return
                while not api._stopping.is_set():
                    try:
                        body = api._pending.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    self.send_response(200)
                    self.send_header("Lambda-Runtime-Aws-Request-Id", api.request_id)
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 300) * 1000)))
                    self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                    self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                if self.path == f"{PREFIX}/invocation/{api.request_id}/response":
                    api.outcomes.put(("response", body))
                elif self.path == f"{PREFIX}/invocation/{api.request_id}/error":
                    api.outcomes.put(("error", body))
                elif self.path == f"{PREFIX}/init/error":
                    api.outcomes.put(("init-error", body))
                else:
                    self.send_error(404)
                    return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
