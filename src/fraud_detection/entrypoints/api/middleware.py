"""Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs far more per request): request metrics and
the body size limit."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraud_detection.infrastructure.prometheus.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS

UNMATCHED = "unmatched"  # one label for every unknown path, so scanners cannot explode the series count


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._latency: dict[tuple[str, str], Any] = {}
        self._requests: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            HTTP_IN_FLIGHT.dec()
            path = route_template(scope)
            method = scope["method"]
            self._child(self._latency, HTTP_LATENCY, path, method).observe(time.perf_counter() - started)
            self._child(self._requests, HTTP_REQUESTS, path, method, status).inc()

    @staticmethod
    def _child(cache: dict[Any, Any], metric: Any, *labels: Any) -> Any:
        """`metric.labels(...)` looks its child up by string each call; remember it per label tuple."""
        child = cache.get(labels)
        if child is None:
            child = cache[labels] = metric.labels(*(str(label) for label in labels))
        return child


def route_template(scope: Scope) -> str:
    """FastAPI routes leave themselves in the scope; the plain Starlette /v1/score route has no path
    parameters, so its path is its template; a request no route matched gets one shared label."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    return str(scope["path"]) if "endpoint" in scope else UNMATCHED


class BodySizeLimit:
    """413 before reading a body whose Content-Length is too large, or as soon as a chunked one grows so."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(received)
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLargeError as error:
            await self._refuse(send, error.size)

    async def _refuse(self, send: Send, size: int) -> None:
        problem = f"request body of {size} bytes or more exceeds the limit of {self.max_bytes} bytes"
        body = json.dumps({"error": problem, "problems": []}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class BodyTooLargeError(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size
