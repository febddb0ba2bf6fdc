"""Prefect's temporary local server, started in a session of its own.

Without `PREFECT_API_URL` Prefect starts a uvicorn subprocess on first use, in the caller's process group: a
terminal's Ctrl-C reaches it too and kills it mid-run, and the flow, which still has a crash state to report
and events to send, then retries against a dead server for minutes and ends in an httpx traceback. Started in
its own session the server hears no terminal signal; Prefect's own exit hook still stops it (terminate, then
kill after 5 s) when this process exits normally, on an exception or on `sys.exit`, and it stops itself
when this process is killed outright (orphan_guard.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import get_current_settings


class DetachedTemporaryServer(SubprocessASGIServer):
    """`SubprocessASGIServer` with the same command and environment, in a new session."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # Prefect 3.9's command and environment (prefect/server/api/server.py), plus start_new_session.
        server_env = {
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        return subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "fraud_detection.flows.orphan_guard",  # ends with this process, even a SIGKILLed one
                str(os.getpid()),
                "uvicorn",
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                **server_env,
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            start_new_session=True,
        )


def detach_temporary_server() -> None:
    """Make the temporary server that Prefect starts on first use (if it needs one) a detached one.

    Prefect asks `SubprocessASGIServer()` for it, which returns the instance registered for the default port:
    registering ours first is enough. A no-op once a server was started.
    """
    if None not in SubprocessASGIServer._instances:
        DetachedTemporaryServer()


def stop_temporary_server() -> None:
    """Stop the temporary server if one runs (Prefect's exit hook does it on a normal exit)."""
    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()
