"""SIGTERM stops a command the way Ctrl-C does: its clean-up runs, and it says so in one line.

Python's default for SIGTERM is to die at once. A container stop (ECS, Kubernetes, `docker stop`), systemd or
`timeout` sends SIGTERM first, and a command killed that way left what only its clean-up removes: the
temporary `.part` sibling of `fraud data generate --output`, an ingest's staging folder in the system's
temporary directory, a batch job started in this process and never cancelled. Raised as a KeyboardInterrupt,
SIGTERM goes through the same `except KeyboardInterrupt` / `finally` paths as Ctrl-C, and exits 143
(128 + 15, the shell's convention) with "terminated".

Commands that run servers or flows install their own handlers over this one (uvicorn, Celery, Prefect,
`stopping_on_signals`) and put it back after.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as Ctrl-C is (a KeyboardInterrupt: every clean-up for Ctrl-C applies)."""

    signal: int = signal.SIGTERM


def stop_on_sigterm() -> None:
    """Raise `Terminated` on SIGTERM in the main thread, unless something already handles SIGTERM (a
    handler installed by whoever embeds the CLI is left alone)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def stop_signal(error: BaseException) -> int:
    """The signal behind a KeyboardInterrupt: SIGTERM for `Terminated`, Ctrl-C's SIGINT otherwise."""
    number = getattr(error, "signal", None)
    return number if isinstance(number, int) else signal.SIGINT


def stop_verb(error: BaseException) -> str:
    """The first word of the command's last line: what stopped it."""
    return "terminated" if stop_signal(error) == signal.SIGTERM else "interrupted"


def stop_exit_code(error: BaseException) -> int:
    """128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + stop_signal(error)
