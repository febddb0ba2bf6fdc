"""Run a Python module as a child that ends when the process that started it dies.

Prefect's temporary server runs in a session of its own (temporary_server.py), so a terminal's signals do
not reach it, and Prefect's exit hook stops it when the command exits. A command killed with SIGKILL (the
OOM killer, `kill -9`, an ECS task stopped hard) runs no hook: the server was left listening for good,
adopted by init. The kernel reparents an orphan, so the child watches its parent's pid and, once it
changes, stops itself as `stop()` would have (SIGTERM, then a hard exit if that did not end it).
Hand-written: PR_SET_PDEATHSIG would also fire when the thread that started the child ends.

    python -m fraud_detection.flows.orphan_guard [--group] PARENT_PID MODULE [ARGS...]
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

CHECK_SECONDS = 1.0
STOP_SECONDS = 5.0  # Prefect's own stop waits as long before it kills


def watch_parent(parent: int, interval: float = CHECK_SECONDS) -> None:
    """Return once this process's parent is no longer `parent` (it died and the process was adopted)."""
    while os.getppid() == parent:
        time.sleep(interval)


def _stop_when_orphaned(parent: int, group: bool, stop_seconds: float) -> None:
    watch_parent(parent)
    if group:  # the process's children too (`mlflow ui` runs its server as one); SIGTERM ends this one
        os.killpg(os.getpgrp(), signal.SIGTERM)
    else:
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(stop_seconds)
    os._exit(1)


def guard(parent: int, group: bool = False, stop_seconds: float = STOP_SECONDS) -> None:
    """In this process: once `parent` is no longer its parent, SIGTERM it (its process group with `group`),
    and end it `stop_seconds` later if that did not. Also what each `fraud serve --workers N` worker runs:
    a SIGKILLed `fraud serve` left its workers serving, and holding the port, for good."""
    threading.Thread(
        target=_stop_when_orphaned, args=(parent, group, stop_seconds), name="orphan-guard", daemon=True
    ).start()


def main(argv: list[str]) -> None:
    group = argv[:1] == ["--group"]
    argv = argv[1:] if group else argv
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit("usage: python -m fraud_detection.flows.orphan_guard [--group] PARENT_PID MODULE [ARGS...]")
    parent, module = int(argv[0]), argv[1]
    guard(parent, group)
    sys.argv = [module, *argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
