"""The HTTP protocol `fraud serve` runs: TCP_NODELAY on every connection, and the connection limit applied per
connection (what uvicorn's `--workers` sockets and its per-request check got wrong)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.server import ServerState

from fraud_detection.entrypoints.api.header_deadline import HeaderDeadlineProtocol


async def app(scope: Any, receive: Any, send: Any) -> None:  # never called here
    raise AssertionError


class Transport(asyncio.Transport):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock, self.closed = sock, False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"socket": self.sock, "peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def accepted() -> Iterator[list[socket.socket]]:
    """TCP connections accepted by a listener made as uvicorn's `--workers` parent makes it (no proto)."""
    listener = socket.socket(family=socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    opened: list[socket.socket] = []

    def accept() -> socket.socket:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        opened.extend((client, server))
        return server

    yield [accept() for _ in range(3)]
    for sock in [*opened, listener]:
        sock.close()


def protocols(limit: int) -> tuple[ServerState, Any]:
    config = Config(app=app, limit_concurrency=limit, log_level="error")
    config.load()
    state = ServerState()
    loop = asyncio.new_event_loop()
    return state, lambda: HeaderDeadlineProtocol(config=config, server_state=state, app_state={}, _loop=loop)


def test_every_connection_gets_tcp_nodelay(accepted):
    assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # as uvicorn leaves it
    _, make = protocols(limit=8)
    make().connection_made(Transport(accepted[0]))
    assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_only_the_connection_beyond_the_limit_is_refused(accepted):
    state, make = protocols(limit=2)
    within = [make(), make()]
    for protocol, sock in zip(within, accepted, strict=False):
        protocol.connection_made(Transport(sock))
    beyond = make()
    beyond.connection_made(Transport(accepted[2]))
    assert len(state.connections) == 3
    assert beyond.app is service_unavailable
    assert all(protocol.app is not service_unavailable for protocol in within)
    assert all(protocol.limit_concurrency is None for protocol in [*within, beyond])  # uvicorn's check off
