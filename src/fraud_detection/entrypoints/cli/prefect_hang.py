"""Ending `fraud pipeline run` and `fraud retrain` when their Prefect server hangs after the work is done.

A server that accepts connections and never answers (frozen, or behind a stalled proxy) held a finished run
for 7 minutes while Prefect's client retried recording its end, then for good at exit, where Prefect drains
its logs and events to the server with no time limit. The run's result is what the user asked for
(flows/finished.py), so the command reports it and ends without Prefect's bookkeeping, saying so.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

from fraud_detection.entrypoints.cli.interrupts import warn_unrecorded

T = TypeVar("T")


def hang_ending(run: str, report: Callable[[T], None]) -> Callable[[T, str], NoReturn]:
    """What the watchdog of `run_keeping_result` calls while the main thread is stuck in Prefect's client:
    the warning and the report the command would print anyway, then exit 0."""

    def end(result: T, reason: str) -> NoReturn:
        code = 0
        try:
            warn_unrecorded(run, reason)
            report(result)
        except typer.Exit as refused:  # the report said why (a summary file that could not be written)
            code = refused.exit_code
        except BaseException as error:  # on this thread an escaping error ended the thread, not the process
            typer.echo(f"error: the {run} run's report failed: {error}", err=True)
            code = 1
        finally:
            _exit_now(code)

    return end


# A server that already failed to record the run's end gets this long for the rest: the drain goes to the
# same server. Measured with the server killed: each queued event took ~7 s to fail, 60 s of waiting after
# the report was printed, for nothing.
LOST_SERVER_EXIT_SECONDS = 5.0

_pending_exit: list[tuple[str, bool]] = []  # (run, end lost) of the command that asked (`exit_within_later`)


def exit_within_later(run: str, end_lost: bool = False) -> None:
    """Ask for `exit_within(run)` once the command has returned: armed by the `fraud` program's `main`
    only, so that a command called in-process (a test's CliRunner) never ends its caller's process.
    `end_lost`: the server could not record the run's end (`warn_unrecorded` said so)."""
    _pending_exit[:] = [(run, end_lost)]


def arm_pending_exit() -> None:
    if _pending_exit:
        run, end_lost = _pending_exit.pop()
        exit_within(run, LOST_SERVER_EXIT_SECONDS if end_lost else None)


def exit_within(run: str, seconds: float | None = None) -> threading.Timer:
    """Armed once the command has said everything: a process still alive `seconds` later (by default the
    grace a finished run gets, one request timeout of Prefect's client) is stuck in Prefect's exit-time
    drain; it warns and exits 0 (the result was reported)."""
    from fraud_detection.flows.finished import finish_grace_seconds  # Prefect is loaded by now

    seconds = finish_grace_seconds() if seconds is None else seconds

    def end() -> None:
        typer.echo(
            f"warning: Prefect could not hand the {run} run's last logs and events to its server within "
            f"{seconds:g} s; exiting without them (check PREFECT_API_URL)",
            err=True,
        )
        _exit_now(0)

    timer = threading.Timer(seconds, end)
    timer.daemon = True  # runs while the interpreter waits in Prefect's exit hooks
    timer.start()
    return timer


def _exit_now(code: int) -> NoReturn:
    """Skips the exit hooks that hang; stops the temporary Prefect server one of them would have stopped.
    Imports nothing: this may run while the interpreter shuts down, when a first import of Prefect hangs."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        servers = sys.modules.get("fraud_detection.flows.temporary_server")  # loaded by any flow run
        if servers is not None:
            servers.stop_temporary_server()
    finally:
        os._exit(code)
