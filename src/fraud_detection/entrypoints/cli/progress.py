"""Stage progress on stderr: a spinner while a stage runs, one line with its time when it ends."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.status import Status

from fraud_detection.application.progress import PipelineObserver


class ConsoleProgress(PipelineObserver):
    """Also remembers which stages finished (with their detail) and which one was running, so that an
    interrupted command can say how far the run got."""

    def __init__(
        self,
        console: Console,
        retry_delay: Callable[[str, BaseException, int], float | None] = lambda stage, error, failures: None,
    ) -> None:
        """`retry_delay(stage, error, failures)`: the seconds before the orchestrator tries that failure of
        the stage again, or None when it is final."""
        self._console = console
        self._retry_delay = retry_delay
        self._failures: dict[str, int] = {}
        self._status: Status | None = None
        self.running: str | None = None
        self.failed: str | None = None
        self.finished: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def stage_started(self, stage: str) -> None:
        self.running = stage
        self._status = self._console.status(f"{stage}...")
        self._status.start()

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        self._stop()
        self.running = None
        if self.failed == stage:  # a retry of it succeeded: a later failure is not this stage's
            self.failed = None
        self.finished[stage] = detail
        self.seconds[stage] = round(seconds, 3)
        self._console.print(f"[green]✓[/] {stage:<9} {seconds:6.1f}s  {detail}", highlight=False)

    def stage_failed(self, stage: str, seconds: float, error: BaseException) -> None:
        self._stop()
        if not isinstance(error, Exception):
            # Ctrl-C, or SIGTERM (Prefect's TerminationSignal): the command reports it, once, with what it
            # left behind
            return
        self._failures[stage] = failures = self._failures.get(stage, 0) + 1
        delay = self._retry_delay(stage, error, failures)
        if delay is not None:  # the same failure three times, with no word of retrying, read as three runs
            reason = " ".join(str(error).split()) or type(error).__name__
            self._console.print(
                f"[yellow]↻[/] {stage:<9} {seconds:6.1f}s  failed, trying again in {delay:g} s: {reason}",
                highlight=False,
            )
            return
        self.running, self.failed = None, stage
        # The command's own `error:` line follows with the message: the class name told users nothing more.
        self._console.print(f"[red]✗[/] {stage:<9} {seconds:6.1f}s  failed", highlight=False)

    def stage_progress(self, stage: str, message: str) -> None:
        """On a terminal, the spinner's text; elsewhere (CI, a task's log) a line: a spinner shows nothing."""
        if self._status is not None and self._console.is_terminal:
            self._status.update(f"{stage}... {message}")
        else:
            self._console.print(f"  {stage:<9} {message}", highlight=False)

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
