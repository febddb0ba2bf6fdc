"""The long-running commands as an operator meets them: `fraud serve` on a taken port, `/healthz` with a model
loaded, `fraud worker`'s /metrics address by default, and `fraud mlflow-ui` stopped by SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_clients import write_clients
from tests.e2e.conftest import Cli, make_cli
from tests.e2e.serving import FRAUD, serve, train_champion, wait_until
from tests.fixtures.servers import free_port, http_ok

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A FRAUD_HOME whose registry has a champion (v1), and API clients."""
    path = tmp_path_factory.mktemp("hygiene")
    train_champion(path)
    write_clients(path)
    return make_cli(path)


def test_serve_on_a_taken_port_says_so_in_one_line_before_loading_the_model(home: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = home("serve", "--port", str(port), timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"error: port 127.0.0.1:{port} is in use by another process (stop it, or choose another --port)"
    ]
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    # uvicorn never started: no app startup, so no model was loaded (that logs "serving fraud-lgbm v1")
    assert "startup" not in output
    assert "fraud-lgbm" not in output


def test_serve_on_an_address_not_of_this_machine_is_bad_input(home: Cli) -> None:
    result = home("serve", "--host", "192.0.2.1", "--port", str(free_port()), timeout=120)  # TEST-NET-1
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: --host/--port: cannot listen on 192.0.2.1:"), line
    assert "fraud-lgbm" not in result.stdout + result.stderr


def test_healthz_reports_the_version_it_serves(home: Cli) -> None:
    with serve(home) as server, server.client(headers={}) as client:
        assert client.get("/healthz").json() == {"status": "ok", "model_version": 1}
        assert client.get("/readyz").json() == {"status": "ready", "model_version": 1}


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (IPv4 and IPv6), from /proc/net."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if len(raw) == 4:  # one little-endian word
                addresses.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:  # four little-endian words
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                addresses.add(socket.inet_ntop(socket.AF_INET6, words))
    return addresses


@pytest.mark.integration
def test_worker_metrics_listen_on_loopback_by_default(home: Cli, redis_server) -> None:
    port = free_port()
    env = home.env | {"FRAUD_BROKER_URL": redis_server.url(9), "FRAUD_WORKER_PRELOAD": "false"}
    log = home.home / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [FRAUD, "worker", "--metrics-port", str(port)], env=env, cwd=home.home, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        metrics = http_ok(f"http://127.0.0.1:{port}/metrics")
        wait_until(lambda: worker.poll() is not None or metrics(), 120)
        assert worker.poll() is None, log.read_text()[-3000:]
        assert metrics(), log.read_text()[-3000:]
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent, session, state) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # gone meanwhile
            table[int(entry.name)] = (int(fields[1]), int(fields[3]), fields[0])
    return table


def descendants(root: int) -> Iterator[int]:
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        yield pid
        pending.extend(children.get(pid, []))


def test_mlflow_ui_leaves_no_process_behind_after_sigterm(home: Cli) -> None:
    port = free_port()
    log = home.home / "mlflow-ui.log"
    env = home.env | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    with log.open("wb") as sink:
        ui = subprocess.Popen(
            [FRAUD, "mlflow-ui", "--port", str(port)], env=env, cwd=home.home, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    started: set[int] = set()
    try:
        health = http_ok(f"http://127.0.0.1:{port}/health")
        wait_until(lambda: ui.poll() is not None or health(), 180)
        assert ui.poll() is None, log.read_text()[-3000:]
        assert health(), log.read_text()[-3000:]
        started = set(descendants(ui.pid))
        assert len(started) >= 2, "mlflow ui and its server"
        table = process_table()
        sessions = {ui.pid} | {table[pid][1] for pid in started if pid in table}
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(60) == 0, log.read_text()[-3000:]

        def survivors() -> dict[int, tuple[int, int, str]]:
            return {
                pid: row for pid, row in process_table().items()
                if (pid in started or row[1] in sessions) and row[2] != "Z"
            }  # fmt: skip

        # `fraud mlflow-ui` returns once its group is empty; zombies are orphans init has yet to reap
        assert not survivors(), f"left running after SIGTERM: {survivors()}\n{log.read_text()[-3000:]}"
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(10)
        for pid in started:  # whatever the test found still running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def alive(pids: set[int]) -> set[int]:
    table = process_table()
    return {pid for pid in pids if pid in table and table[pid][2] != "Z"}


def sigkill_leaves_nothing_behind(argv: list[str], env: dict[str, str], url: str, home: Path) -> None:
    """Start `argv`, wait for `url`, SIGKILL that process alone (the OOM killer, `kill -9`): every process
    it started must end by itself, where they were adopted by init and went on serving."""
    log = home / f"{argv[1]}-sigkill.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, env=env, cwd=home, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    started: set[int] = set()
    try:
        health = http_ok(url)
        wait_until(lambda: process.poll() is not None or health(), 180)
        assert process.poll() is None, log.read_text()[-3000:]
        assert health(), log.read_text()[-3000:]
        started = set(descendants(process.pid))
        assert len(started) >= 2, log.read_text()[-3000:]
        process.kill()
        process.wait(10)
        wait_until(lambda: not alive(started), 60)
        assert not alive(started), f"left running: {alive(started)}\n{log.read_text()[-3000:]}"
        assert not health()
    finally:
        for pid in alive(started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_sigkilled_serve_leaves_no_worker_serving(home: Cli, tmp_path: Path) -> None:
    """A crash probe: `fraud serve --workers 2` killed with SIGKILL left both workers answering scores and
    holding the port, so the restart failed with 'port in use'."""
    port = free_port()
    env = home.env | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}  # its own folder is left by a SIGKILL
    argv = [FRAUD, "serve", "--port", str(port), "--workers", "2"]
    sigkill_leaves_nothing_behind(argv, env, f"http://127.0.0.1:{port}/healthz", home.home)


def test_a_sigkilled_mlflow_ui_leaves_no_server_behind(home: Cli) -> None:
    port = free_port()
    env = home.env | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    argv = [FRAUD, "mlflow-ui", "--port", str(port)]
    sigkill_leaves_nothing_behind(argv, env, f"http://127.0.0.1:{port}/health", home.home)
