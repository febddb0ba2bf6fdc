"""Real `fraud serve` processes for e2e tests, on homes holding models trained by the pipeline."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from fraud_detection.composition import Container
from fraud_detection.settings import Settings
from fraud_detection.simulation import generate_transactions
from tests.api_clients import SERVICE, write_clients
from tests.e2e.conftest import Cli, make_cli
from tests.fixtures.servers import free_port, http_ok

FRAUD = str(Path(sys.executable).parent / "fraud")
TOKEN = "e2e-admin-token-7f3a-0123456789abcdef"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """Authenticated as the test `service` client (score, explain, feedback, jobs) unless told so."""
        return httpx.Client(base_url=self.url, timeout=30, headers=SERVICE if headers is None else headers)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as an orchestrator stops a container; the exit code once it is gone."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@contextmanager
def serve(cli: Cli, workers: int = 1, **env: str) -> Iterator[Server]:
    port = free_port()
    log = cli.home / f"serve-{port}.log"
    if not (cli.home / "api-clients.json").exists():
        write_clients(cli.home)
    environment = cli.env | {"FRAUD_ADMIN_TOKEN": TOKEN, "FRAUD_MODEL_POLL_SECONDS": "1"} | env
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in environment:
        # The SIGKILL below skips `fraud serve`'s removal of its own temporary folder: one in the test's.
        metrics = cli.home / f"metrics-{port}"
        metrics.mkdir()
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [FRAUD, "serve", "--port", str(port), "--workers", str(workers)],
            env=environment,
            cwd=cli.home,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # its group holds its workers: see the end
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline, ready = time.monotonic() + 90, http_ok(f"{server.url}/healthz")
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"fraud serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        # The whole group: a SIGKILLed supervisor left its `--workers` running, orphaned, for the rest of
        # the test run (~350 MB each).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def copy_home(trained: Path, target: Path) -> Cli:
    """A private copy of a trained FRAUD_HOME (the registry is SQLite inside it). MLflow keeps the
    experiment's artifact location as an absolute URI: the copy's is pointed at its own `mlartifacts`, so
    what a test logs lands in the copy, not in the shared home (its v1 and v2 stay read from there)."""
    shutil.copytree(trained, target)
    database = target / "mlflow.db"
    if database.exists():
        with closing(sqlite3.connect(database)) as connection, connection:
            for old, new in ((trained.resolve().as_uri(), target.resolve().as_uri()), (trained, target)):
                prefix = f"{old}/"
                connection.execute(
                    "UPDATE experiments SET artifact_location = ? || substr(artifact_location, ?) "
                    "WHERE substr(artifact_location, 1, ?) = ?",
                    (f"{new}/", len(prefix) + 1, len(prefix), prefix),
                )
    return make_cli(target)


def wait_until(condition, timeout: float = 30, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def send_labels(client: httpx.Client, labels: list[dict[str, object]], timeout: float = 60) -> None:
    """Post every label, 1,000 a call. The feedback store learns of a scored id off the request path (about
    a second after the answer), so an id scored a moment ago may still be `unknown`: those labels are sent
    again until each is recorded."""
    waiting = {str(label["transaction_id"]): label for label in labels}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        pending = list(waiting.values())
        for start in range(0, len(pending), 1_000):
            answer = client.post("/v1/feedback", json={"labels": pending[start : start + 1_000]})
            assert answer.status_code in (200, 404), answer.text[:1000]  # 404: every id of the call unknown
            for result in answer.json()["results"]:
                if result["outcome"] != "unknown":
                    waiting.pop(result["transaction_id"], None)
        time.sleep(0.2 if waiting else 0)
    assert not waiting, f"{len(waiting)} labels still unknown to the feedback store after {timeout:.0f} s"


def train_champion(home: Path) -> None:
    """A small champion in the home's SQLite registry, by the application's own pipeline (no Prefect)."""
    source = home / "train.parquet"
    generate_transactions(10_000, seed=5, fraud_rate=0.02).to_parquet(source)
    pipeline = Container(Settings(home=home, train_max_rounds=100)).training.pipeline()
    with pipeline.session(pipeline.ingest(str(source))) as session:
        session.validate()
        session.build_features()
        session.train()
        session.evaluate()
        session.register()
        assert session.promote().promote
