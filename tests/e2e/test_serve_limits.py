"""`fraud serve` against slow and greedy clients, over real sockets: a connection whose headers crawl in is
closed; beyond FRAUD_API_CONCURRENCY_MAX connections a request gets 503 at once. No model is needed."""

import socket
import time

import pytest

from tests.e2e.conftest import make_cli
from tests.e2e.serving import serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (recv gives b""), or None."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - started


def test_slow_headers_are_cut_off_and_concurrency_is_bounded(tmp_path):
    cli = make_cli(tmp_path / "home")
    cli.home.mkdir()
    env = {"FRAUD_API_HEADER_SECONDS": "2", "FRAUD_API_CONCURRENCY_MAX": "3"}
    with serve(cli, **env) as server:
        slow = connect(server.url)
        slow.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\n")  # and never the rest of the headers
        waited = closed_within(slow, 10)
        assert waited is not None, "a slowloris connection was held open"
        assert waited < 5

        with server.client() as kept:
            assert kept.get("/healthz").status_code == 200  # a keep-alive connection within the limit
            idle = [connect(server.url) for _ in range(3)]  # two more fill the three slots, one is beyond
            try:
                time.sleep(0.3)  # accepted by the server (its header deadline, 2 s, has not cut it yet)
                # Those within the limit are served still: uvicorn's own check refused every request of
                # every connection while more than the limit were open (idle sockets took the service down).
                assert kept.get("/healthz").status_code == 200
                with server.client() as client:
                    refused = client.get("/healthz")
                    assert refused.status_code == 503  # a new connection beyond the limit: refused at once
                    assert refused.headers["connection"] == "close"
            finally:
                for sock in idle:
                    sock.close()
        time.sleep(1.5)  # the server notices the closed sockets
        with server.client() as client:
            assert client.get("/healthz").status_code == 200
