"""uvicorn's HTTP/1.1 protocol with a deadline on request headers, a connection limit that refuses only the
connections beyond it, and TCP_NODELAY on every connection.

uvicorn times out idle keep-alive connections, but not a client that opens a connection and sends its
headers a byte at a time (slowloris): each such connection holds a slot of `limit_concurrency` for ever.
Behind the AWS load balancer this never reaches the task (the ALB reads whole requests before forwarding),
but `fraud serve` may face clients directly. No maintained ASGI server option covers it (uvicorn 0.54 has
none), hence this small subclass: the connection is closed when a request's headers have not all arrived
within `header_seconds` of the connection opening or of the previous response.

uvicorn's `limit_concurrency` is checked on every request against the connections held: once the server
held its limit, idle ones included, every request of every connection got 503, health checks too (a load
probe: 10 idle sockets beside 250 busy connections turned 93% of all answers into 503). Here a connection
beyond the limit gets 503 to its requests and is closed; those within it are served.

TCP_NODELAY: asyncio sets it on the sockets it accepts only when their protocol is known to be TCP, and
uvicorn's `--workers` socket is made without it: every keep-alive answer of `fraud serve --workers 2` then
waited ~40 ms for a delayed ACK (Nagle), 44 ms against 0.8 ms with one worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from functools import cache
from typing import Any

from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    """Named by `uvicorn.run(http=...)`: a module-level class, so worker processes can unpickle it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `limit_concurrency` (the connections one worker holds) is applied here, per connection; uvicorn's
        # own per-request check is off
        self.connection_limit, self.limit_concurrency = self.limit_concurrency, None
        self.header_seconds = header_seconds()
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_cycle: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        no_delay(transport)
        if self.connection_limit is not None and len(self.connections) > self.connection_limit:
            # answered 503 with `Connection: close` (uvicorn's own answer), so the client hears why
            self.app = service_unavailable
            self.logger.warning("Exceeded concurrency limit: %d connections held", self.connection_limit)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not self._waiting_cycle:  # h11 parsed a whole request head: a new cycle began
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._waiting_cycle = self.cycle
        self._deadline = self.loop.call_later(self.header_seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.cycle is self._waiting_cycle and not self.transport.is_closing():
            self.transport.close()


def no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # a socket already closed by the peer
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@cache
def header_seconds() -> float:
    """FRAUD_API_HEADER_SECONDS, read once per process (not per connection)."""
    from fraud_detection.settings import Settings

    return Settings().api_header_seconds
