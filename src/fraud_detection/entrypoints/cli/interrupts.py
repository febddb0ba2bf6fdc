"""Ctrl-C and SIGTERM during a training run (`fraud pipeline run`, `fraud retrain`): stop at once where that
is safe, say in one line what was left.

The default SIGINT handling raises KeyboardInterrupt wherever the main thread happens to be, in the middle of
registering a model version too. This handler asks the run to stop through `Interruption`, which lets the
`register` stage finish and keeps every later stage from starting.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

import typer

from fraud_detection.application.interruption import Interrupted, Interruption
from fraud_detection.entrypoints.cli.progress import ConsoleProgress
from fraud_detection.entrypoints.cli.terminated import stop_signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")


def run_flow_until_stopped(
    run: str, progress: ConsoleProgress, interruption: Interruption, flow: Callable[[], T]
) -> T:
    """`flow()` under the signal handler, with Prefect's temporary server detached from the terminal. On a
    stop: one line on stderr saying how far `run` got (`what_was_left`), then exit 128 + the signal.

    `flow` imports the flow module itself: Ctrl-C during Prefect's slow import is reported the same way.
    """
    try:
        with stopping_on_signals(interruption):
            from fraud_detection.flows.temporary_server import detach_temporary_server

            detach_temporary_server()  # Ctrl-C must stop the run, not the server it reports to
            result = flow()
    except BaseException as error:
        stop = signal_behind(error)
        if stop is None and not (interruption.requested and isinstance(error, Exception)):
            raise  # a bug, or SystemExit: not a stop
        # A stop may reach here as another error: a signal that landed in Prefect's own bookkeeping (while it
        # creates a task run) comes out of its crash handling as ValueError("Task run is not set").
        interruption.request(stop)
    else:
        if not interruption.requested:  # a stop may have waited for the last, atomic stage to finish
            return result
    typer.echo(what_was_left(progress, interruption, run), err=True)
    raise typer.Exit(exit_code(interruption))


def signal_behind(error: BaseException) -> int | None:
    """The signal that stopped the run, if `error` is one or was raised while handling one: Ctrl-C (a
    KeyboardInterrupt, ours included) or Prefect's TerminationSignal (SIGTERM while a flow runs: Prefect's
    own handler, a BaseException carrying `.signal`)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt):  # Ctrl-C, or SIGTERM before our handler took over
            return stop_signal(current)
        number = getattr(current, "signal", None)
        if not isinstance(current, Exception | SystemExit | GeneratorExit) and isinstance(number, int):
            return number
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def stopping_on_signals(interruption: Interruption) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM ask `interruption` to stop (main thread only), a flow's
    body included (`Interruption.stop_at_stages`)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if interruption.request(signum):
            raise Interrupted(signal.Signals(signum).name)

    def reclaim() -> None:
        # Prefect's flow engine puts its own SIGTERM handler in (it raises TerminationSignal at any line,
        # its own bookkeeping included); the flow's body takes SIGTERM back, in the main thread
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                signal.signal(number, handle)

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    interruption.reclaim = reclaim
    try:
        yield
    finally:
        interruption.reclaim = None
        for number, handler in previous.items():
            signal.signal(number, handler)


def exit_code(interruption: Interruption) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C)."""
    return 128 + (interruption.signal or signal.SIGINT)


def what_was_left(progress: ConsoleProgress, interruption: Interruption, run: str = "pipeline") -> str:
    """One line on how far `run` (the command's name: pipeline, retrain) got, from the stages the progress
    display saw finish."""
    verb = "terminated" if interruption.signal == signal.SIGTERM else "interrupted"
    see = "`fraud model list` shows what was recorded"
    if "register" not in progress.finished:
        if progress.running == "register":
            # `register` is atomic under our handler; this is for a stop that reached it another way
            # (Prefect's SIGTERM handler, before the flow's body took SIGTERM back)
            return f"{verb}: the {run} stopped while registering; {see}"
        if progress.running:
            where = f"during {progress.running}, before registering"
        else:
            where = "before registering" if progress.finished else "before its first stage"
        return f"{verb}: the {run} stopped {where}; nothing was registered"
    registered = progress.finished["register"]
    if "promote" not in progress.finished:
        return f"{verb}: the {run} stopped after registering {registered}; the promotion gate decided nothing"
    return f"{verb}: the {run} had finished ({registered}, gate: {progress.finished['promote']})"


def warn_unrecorded(run: str, lost: str | None) -> None:
    """One line on stderr when `run` finished but Prefect could not record its end (see flows/finished)."""
    if lost is not None:
        typer.echo(
            f"warning: the {run} run finished and its result stands, but the Prefect server could not "
            f"record its end ({lost}); check PREFECT_API_URL",
            err=True,
        )
