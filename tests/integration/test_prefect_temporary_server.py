"""The detached temporary server is Prefect's own, only in a session of its own (flows/temporary_server.py
copies Prefect's command: a Prefect upgrade that changes it fails here, not on a user's Ctrl-C)."""

import subprocess
from typing import Any

import pytest
from prefect.server.api.server import SubprocessASGIServer

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
    assert ours == prefects


def test_prefect_gets_the_detached_server_for_its_temporary_one(monkeypatch):
    monkeypatch.setattr(SubprocessASGIServer, "_instances", {})
    detach_temporary_server()
    server = SubprocessASGIServer()  # what Prefect's clients ask for without PREFECT_API_URL
    assert isinstance(server, DetachedTemporaryServer)
    assert not server.running
    detach_temporary_server()  # again: the same one stays
    assert SubprocessASGIServer() is server
