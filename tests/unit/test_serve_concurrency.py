"""`fraud serve --workers N` shares FRAUD_API_CONCURRENCY_MAX among its workers: uvicorn applies its limit in
each worker, so passed whole, two workers held twice the connections the setting names."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from fraud_detection.entrypoints.cli.app import app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Each worker holds its share of connections (HeaderDeadlineProtocol applies the limit per connection).
@pytest.mark.parametrize(("workers", "limit", "each"), [(1, 256, 256), (2, 256, 128), (2, 3, 1), (2, 1, 1)])
def test_each_worker_gets_its_share_of_the_connection_limit(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, workers: int, limit: int, each: int
) -> None:
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    monkeypatch.setenv("FRAUD_API_CONCURRENCY_MAX", str(limit))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # else serve sets it for this process
    monkeypatch.setattr("fraud_detection.entrypoints.cli.serve.check_process_count", lambda *args: None)
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port()), "--workers", str(workers)])
    assert result.exit_code == 0, result.output
    assert (started[0]["workers"], started[0]["limit_concurrency"]) == (workers, each)
    assert started[0]["timeout_graceful_shutdown"] == 15  # a stop is bounded: within ECS's 30 s
