"""Ctrl-C and SIGTERM during a pipeline run: stop at once where that is safe, say in one line what was left.

The default SIGINT handling raises KeyboardInterrupt wherever the main thread happens to be, in the middle of
registering a model version too. This handler asks the run to stop through `Interruption`, which lets the
`register` stage finish and keeps every later stage from starting.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from fraud_detection.application.interruption import Interrupted, Interruption
from fraud_detection.entrypoints.cli.progress import ConsoleProgress

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stopping_on_signals(interruption: Interruption) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM ask `interruption` to stop (main thread only)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if interruption.request(signum):
            raise Interrupted(signal.Signals(signum).name)

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def exit_code(interruption: Interruption) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C)."""
    return 128 + (interruption.signal or signal.SIGINT)


def what_was_left(progress: ConsoleProgress, interruption: Interruption) -> str:
    """One line on how far the run got, from the stages the progress display saw finish."""
    verb = "terminated" if interruption.signal == signal.SIGTERM else "interrupted"
    see = "`fraud model list` shows what was recorded"
    if "register" not in progress.finished:
        if progress.running == "register":
            # only SIGTERM can cut `register` short (Prefect's own handler, installed for the flow's run)
            return f"{verb}: the pipeline stopped while registering; {see}"
        if progress.running:
            where = f"during {progress.running}, before registering"
        else:
            where = "before registering" if progress.finished else "before its first stage"
        return f"{verb}: the pipeline stopped {where}; nothing was registered"
    registered = progress.finished["register"]
    if progress.running == "promote" and interruption.signal == signal.SIGTERM:
        # Prefect's own SIGTERM handler (installed for the flow's run) does not wait for the gate's records
        return f"{verb}: the pipeline stopped after registering {registered}, during the gate; {see}"
    if "promote" not in progress.finished:
        return (
            f"{verb}: the pipeline stopped after registering {registered}; the promotion gate decided nothing"
        )
    return f"{verb}: the pipeline had finished ({registered}, gate: {progress.finished['promote']})"
