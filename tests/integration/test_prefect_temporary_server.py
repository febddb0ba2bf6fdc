"""The detached temporary server is Prefect's own, only in a session of its own (flows/temporary_server.py
copies Prefect's command: a Prefect upgrade that changes it fails here, not on a user's Ctrl-C)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.server.api.server import SubprocessASGIServer

from fraud_detection.flows import orphan_guard
from fraud_detection.flows.temporary_server import DetachedTemporaryServer, detach_temporary_server

pytestmark = pytest.mark.integration


def popen_call(server_class: type[SubprocessASGIServer], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def record(*args: Any, **kwargs: Any) -> str:
        seen.update(kwargs, args=kwargs.get("args", args[0] if args else None))
        return "process"

    monkeypatch.setattr(subprocess, "Popen", record)
    server = object.__new__(server_class)  # no singleton registration, nothing started
    server.port = 8123
    server._run_uvicorn_command()
    return seen


def test_the_same_command_and_environment_as_prefects_in_a_new_session(monkeypatch):
    prefects = popen_call(SubprocessASGIServer, monkeypatch)
    ours = popen_call(DetachedTemporaryServer, monkeypatch)
    assert ours.pop("start_new_session") is True
    command = ours.pop("args")
    assert command[1:5] == ["-m", "fraud_detection.flows.orphan_guard", str(os.getpid()), "uvicorn"]
    assert [command[0], "-m", *command[4:]] == prefects.pop("args")  # the guard runs Prefect's command
    assert ours == prefects


# A command that starts the temporary server, says its pid, then waits to be killed.
STARTER = """
import time
from fraud_detection.flows.temporary_server import DetachedTemporaryServer
server = DetachedTemporaryServer()
server.start(timeout=120)
print(server.server_process.pid, server.port, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}


def test_a_server_whose_command_was_sigkilled_stops_itself(tmp_path):
    """`kill -9` on `fraud retrain` (or the OOM killer) left the server listening for good, under init."""
    env = os.environ | {"PREFECT_HOME": str(tmp_path)}
    env.pop("PREFECT_API_URL", None)
    starter = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert starter.stdout is not None
        pid, port = (int(part) for part in starter.stdout.readline().split())
        time.sleep(2 * orphan_guard.CHECK_SECONDS)
        assert alive(pid)  # its command lives: it serves on
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).status_code == 200
    finally:
        starter.kill()
        starter.wait(timeout=30)
    deadline = time.monotonic() + orphan_guard.CHECK_SECONDS + orphan_guard.STOP_SECONDS + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the temporary server outlived its SIGKILLed command")


def test_the_guard_runs_its_module_as_main_while_its_parent_lives(tmp_path):
    script = tmp_path / "child.py"
    script.write_text("import sys, time\nprint(sys.argv[1:], flush=True)\ntime.sleep(600)\n")
    guard = [sys.executable, "-m", "fraud_detection.flows.orphan_guard", str(os.getpid()), "child"]
    env = os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([*guard, "a", "b"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "['a', 'b']"
        time.sleep(2 * orphan_guard.CHECK_SECONDS)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait(timeout=30)
    assert (
        "usage"
        in subprocess.run(
            [sys.executable, "-m", "fraud_detection.flows.orphan_guard"], capture_output=True, text=True
        ).stderr
    )


def test_prefect_gets_the_detached_server_for_its_temporary_one(monkeypatch):
    monkeypatch.setattr(SubprocessASGIServer, "_instances", {})
    detach_temporary_server()
    server = SubprocessASGIServer()  # what Prefect's clients ask for without PREFECT_API_URL
    assert isinstance(server, DetachedTemporaryServer)
    assert not server.running
    detach_temporary_server()  # again: the same one stays
    assert SubprocessASGIServer() is server
