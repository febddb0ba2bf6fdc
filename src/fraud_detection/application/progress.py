"""How long-running work reports progress: the CLI shows it, tests and flows may stay silent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from fraud_detection.application.interruption import Interruption


class PipelineObserver:
    """Receives stage events; the base class ignores them (the silent default)."""

    def stage_started(self, stage: str) -> None:
        """A stage begins."""

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        """A stage ended; `detail` is a one-line summary of what it produced."""

    def stage_failed(self, stage: str, seconds: float, error: BaseException) -> None:
        """A stage raised; the error propagates after this call."""

    def stage_progress(self, stage: str, message: str) -> None:
        """A step within a long stage (a fold fitted): minutes of silence read as a hang."""


class StageClock:
    """Times each stage and forwards events to the observer; the times end up in the run summary. A stage
    does not start once a stop was requested (`interruption`), and its own code is where a stop may land."""

    def __init__(self, observer: PipelineObserver, interruption: Interruption | None = None) -> None:
        self.observer = observer
        self.interruption = interruption or Interruption()
        self.seconds: dict[str, float] = {}

    def progress(self, stage: str) -> Callable[[str], None]:
        """What a stage's steps report through (`stage_progress`)."""
        return lambda message: self.observer.stage_progress(stage, message)

    @contextmanager
    def stage(self, name: str, atomic: bool = False) -> Iterator[list[str]]:
        """Yields a list the stage may append its one-line detail to. `atomic`: a stop requested while the
        stage runs lets it finish (the next stage refuses to start)."""
        self.interruption.check(name)
        detail: list[str] = []
        # Atomic from before the stage is announced: a stop landing between the two left the display saying
        # `register` was running when it never started (a fresh-clone run's Ctrl-C test caught it).
        with self.interruption.atomic(name) if atomic else nullcontext():
            self.observer.stage_started(name)
            start = time.perf_counter()
            try:
                # An atomic stage's code is not stoppable: a request lets it finish (see `Interruption`)
                with nullcontext() if atomic else self.interruption.stoppable(name):
                    yield detail
            except BaseException as error:
                self.seconds[name] = time.perf_counter() - start
                self.observer.stage_failed(name, self.seconds[name], error)
                raise
            self.seconds[name] = time.perf_counter() - start
            self.observer.stage_finished(name, self.seconds[name], "; ".join(detail))
