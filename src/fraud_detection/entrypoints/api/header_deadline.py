"""uvicorn's HTTP/1.1 protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections, but not a client that opens a connection and sends its
headers a byte at a time (slowloris): each such connection holds a slot of `limit_concurrency` for ever.
Behind the AWS load balancer this never reaches the task (the ALB reads whole requests before forwarding),
but `fraud serve` may face clients directly. No maintained ASGI server option covers it (uvicorn 0.54 has
none), hence this small subclass: the connection is closed when a request's headers have not all arrived
within `header_seconds` of the connection opening or of the previous response.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    """Named by `uvicorn.run(http=...)`: a module-level class, so worker processes can unpickle it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_seconds = header_seconds()
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_cycle: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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


@cache
def header_seconds() -> float:
    """FRAUD_API_HEADER_SECONDS, read once per process (not per connection)."""
    from fraud_detection.settings import Settings

    return Settings().api_header_seconds
