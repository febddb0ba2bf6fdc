"""`fraud serve --workers N` shares FRAUD_API_CONCURRENCY_MAX among its workers: uvicorn applies its limit in
each worker, so passed whole, two workers held twice the connections the setting names. And the folder where
several processes keep their metrics samples lasts as long as the command, not for good."""

from __future__ import annotations

import os
import socket
from pathlib import Path
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
@pytest.mark.parametrize(("workers", "limit", "each"), [(1, 256, 256), (2, 256, 128), (2, 3, 1), (2, 2, 1)])
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


def test_a_limit_below_the_workers_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker held one connection whatever the share, so 2 workers under a limit of 1 held 2."""
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    monkeypatch.setenv("FRAUD_API_CONCURRENCY_MAX", "1")
    monkeypatch.setattr("fraud_detection.entrypoints.cli.serve.check_process_count", lambda *args: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: pytest.fail("started"))
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port()), "--workers", "2"])
    assert result.exit_code == 2
    assert "FRAUD_API_CONCURRENCY_MAX (1) is below --workers (2)" in result.stderr


def test_the_metrics_folder_of_several_workers_is_removed_when_serve_ends(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `fraud serve --workers 2` left its prometheus_client folder in /tmp for good (31 in a day)."""
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr("fraud_detection.entrypoints.cli.serve.check_process_count", lambda *args: None)
    folders: list[Path] = []

    def run(app: str, **options: Any) -> None:
        folders.append(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        assert folders[0].is_dir()  # the workers write their samples there while they run

    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port()), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert folders
    assert not folders[0].exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # it named the removed folder for what ran next


def test_a_metrics_folder_the_operator_set_is_kept(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    chosen = tmp_path / "metrics"
    chosen.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(chosen))
    monkeypatch.setattr("fraud_detection.entrypoints.cli.serve.check_process_count", lambda *args: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port()), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert chosen.is_dir()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(chosen)


def test_the_metrics_folder_of_a_prefork_worker_is_removed_when_it_ends(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fraud worker --concurrency N` makes the same kind of folder for its children."""
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    monkeypatch.setenv("FRAUD_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    folders: list[Path] = []

    def run_worker(settings: Any, options: Any) -> None:
        folders.append(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        assert folders[0].is_dir()

    monkeypatch.setattr("fraud_detection.workers.runner.run_worker", run_worker)
    result = CliRunner().invoke(app, ["worker", "--concurrency", "2", "--metrics-port", "0"])
    assert result.exit_code == 0, result.output
    assert folders
    assert not folders[0].exists()
