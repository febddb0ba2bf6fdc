"""Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs far more per request): request metrics and
the body size and time limits."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraud_detection.entrypoints.api.fair_turns import FairTurns
from fraud_detection.infrastructure.prometheus.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS

UNMATCHED = "unmatched"  # one label for every unknown path, so scanners cannot explode the series count
# A route label for an answer given before routing: authentication's refusals and, for an authenticated
# call, the batch admission's and the body limits' (its protected prefix, set by `Authenticate`; a batch
# route's own path, set by `BatchAdmission`). Set only for known paths: an unknown one shares `unmatched`.
ROUTE_KEY = "fraud.route"
CLIENT_KEY = "fraud.client"  # where `Authenticate` leaves the authenticated client in the ASGI scope
# The method is a label too: anything outside the standard set is OTHER, or random methods would each add
# a series (300 requests with 4,000-character methods grew /metrics from 57 KB to 23 MB).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"


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
            method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
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
    if ROUTE_KEY in scope:  # one of a fixed set of prefixes (security.PROTECTED)
        return str(scope[ROUTE_KEY])
    return str(scope["path"]) if "endpoint" in scope else UNMATCHED


class BatchAdmission:
    """At most `limit` requests to `paths` (the batch routes) at once in this process, counted from before
    their body is read to their answer. A 10,000-row batch is ~7 MB of JSON, tens of MB once parsed and
    ~0.2-1 s of CPU; with no bound, 32 at once took the process from 0.3 to 1.6 GB and single scores waited
    seconds (benchmarks/serve_batch_load.py). One process cannot score more at once than its cores anyway
    (the GIL). Others wait their turn holding only their connection, up to `wait_seconds`; then 503 with
    Retry-After. Their body deadline (`BodySizeLimit`, inside this) starts once admitted. Turns are fair
    between namespaces (`FairTurns`): a tenant's waiting requests do not hold up another's."""

    def __init__(self, app: ASGIApp, paths: frozenset[str], limit: int, wait_seconds: float) -> None:
        self.app = app
        self.paths, self.limit, self.wait_seconds = paths, limit, wait_seconds
        self._turns: tuple[asyncio.AbstractEventLoop, FairTurns] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = scope["path"]  # a known route: labels this refusal, or the body limits' own
        turns = self._fair_turns()
        client = scope.get(CLIENT_KEY)  # set by `Authenticate`, which runs first
        owner = "" if client is None else str(client.namespace)
        try:
            async with asyncio.timeout(self.wait_seconds):
                await turns.acquire(owner)
        except TimeoutError:
            busy = f"{self.limit} batch request(s) at a time, none free in {self.wait_seconds:g} s"
            await refuse(send, 503, f"busy: {busy}; retry", ((b"retry-after", b"1"),))
            return
        try:
            await self.app(scope, receive, send)
        finally:
            turns.release(owner)

    def _fair_turns(self) -> FairTurns:
        """The running loop's (futures belong to one loop: a server has one, a test may run several)."""
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, FairTurns(self.limit))
        return self._turns[1]


class BodySizeLimit:
    """413 before reading a body whose Content-Length is too large, or as soon as a chunked one grows so;
    408 when the rest of a body does not arrive within `body_seconds` (a slow client must not hold a
    connection and a worker slot for ever).

    Neither raises into the app: FastAPI turns an exception from `receive` into a 422 ("error parsing the
    body"). The app is given an ended body instead, and whatever it answers is replaced by the 413/408."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        body_seconds: float = 10.0,
        path_limits: dict[str, int] | None = None,
        others_max_bytes: int | None = None,
    ) -> None:
        """`path_limits`: the limit of some paths; `others_max_bytes`: that of every other path (default
        `max_bytes`, which caps them all). Routes whose bodies are a few fields need far less than a batch:
        a 16 MB body of junk there was seconds of parsing on the event loop, every probe waiting behind it."""
        self.app = app
        self.max_bytes = max_bytes
        self.body_seconds = body_seconds
        self.path_limits = {path: min(limit, max_bytes) for path, limit in (path_limits or {}).items()}
        self.others_max_bytes = min(others_max_bytes or max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        encoding = headers.get(b"content-encoding", b"identity").strip().lower()
        if encoding != b"identity":  # the bytes would be read as JSON whatever the header says
            name = encoding.decode("latin-1")[:40]
            await refuse(send, 415, f"Content-Encoding '{name}' is not supported: send the body uncompressed")
            return
        max_bytes = self.path_limits.get(scope["path"], self.others_max_bytes)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await refuse(send, 413, self._too_large(int(declared), max_bytes))
            return
        received = 0
        refusal: tuple[int, str] | None = None
        deadline = asyncio.get_running_loop().time() + self.body_seconds

        async def limited() -> Message:
            nonlocal received, refusal
            if refusal is not None:
                return {"type": "http.disconnect"}
            try:
                async with asyncio.timeout_at(deadline):  # no task per call, unlike wait_for
                    message = await receive()
            except TimeoutError:
                refusal = (408, f"request body not received within {self.body_seconds:g} s")
                return {"type": "http.request", "body": b"", "more_body": False}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refusal = (413, self._too_large(received, max_bytes))
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        answered = refused = False

        async def guarded(message: Message) -> None:
            nonlocal answered, refused
            if refusal is None or answered:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif not refused:  # the app's own answer to a cut-off body is dropped, the refusal sent once
                refused = True
                await refuse(send, *refusal)

        await self.app(scope, limited, guarded)
        if refusal is not None and not (answered or refused):
            await refuse(send, *refusal)

    @staticmethod
    def _too_large(size: int, max_bytes: int) -> str:
        return f"request body of {size} bytes or more exceeds the limit of {max_bytes} bytes"


async def refuse(send: Send, status: int, problem: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """An error answer in the API's JSON shape, sent before (or instead of) reading the body."""
    body = json.dumps({"error": problem, "problems": []}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
