"""Local retraining on events: with no event bus (the embedded mode), DriftDetected and RetrainRequested
start `fraud retrain` in a child process, the local stand-in for the EventBridge rule -> ECS task on AWS.

A child process, not a thread: training takes a CPU and a gigabyte for tens of seconds, which must not
happen inside the scoring API, and a crash in training must not take the caller down. The CLI waits for
it; `fraud drift check` defers it until its report is printed (`run_deferred`): the publish is part of the
check, and the retrain's whole progress came before the verdict that started it. The API starts it
detached, logging to
`<home>/logs/retrain-<UTC stamp>.log`, and answers at once; a daemon thread waits for the child, so it
is reaped when it ends (no zombie per request) and its exit code is logged. While a retrain runs (it holds
`<home>/retrain.lock`), further events start nothing: one training at a time per home.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fraud_detection.domain.events import DomainEvent
from fraud_detection.infrastructure.local.retrain_lock import is_held

logger = logging.getLogger(__name__)

LaunchMode = Literal["wait", "defer", "detach"]


def fraud_command() -> list[str]:
    """The `fraud` console script beside this interpreter (a venv or an image), else the one on PATH."""
    beside = Path(sys.executable).parent / "fraud"
    found = str(beside) if beside.exists() else shutil.which("fraud")
    if found is None:
        raise FileNotFoundError("the `fraud` command is not installed beside this Python nor on PATH")
    return [found]


class SubprocessRetrainLauncher:
    def __init__(
        self, mode: LaunchMode, log_dir: Path, command: list[str] | None = None, lock: Path | None = None
    ) -> None:
        self._mode, self._log_dir, self._command, self._lock = mode, log_dir, command, lock
        # Requests arriving together all passed the lock check before the first child took the lock (5
        # POST /admin/retrain at once started 4 processes): one launch at a time, none while ours runs.
        self._launching = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._deferred: tuple[str, list[str]] | None = None  # ("defer") what run_deferred will start

    def busy(self) -> bool:
        """A retrain this process launched still runs, or any holds the home's lock: an event would start
        nothing."""
        running = self._child is not None and self._child.poll() is None
        return running or self._launching.locked() or (self._lock is not None and is_held(self._lock))

    def __call__(self, event: DomainEvent) -> None:
        if not self._launching.acquire(blocking=False):  # another event is launching (or, waiting, running)
            self._refuse(event)
            return
        try:
            running = self._child is not None and self._child.poll() is None
            if running or (self._lock is not None and is_held(self._lock)):
                self._refuse(event)
                return
            self._launch(event)
        finally:
            self._launching.release()

    def _refuse(self, event: DomainEvent) -> None:
        logger.warning("%s: not starting a retrain, one is already running (%s)", event.kind, self._lock)

    def _launch(self, event: DomainEvent) -> None:
        reason = str(getattr(event, "reason", "") or event.kind)
        argv = [*(self._command or fraud_command()), "retrain", "--reason", f"{event.kind}: {reason}"]
        if self._mode == "defer":
            if self._deferred is None:  # one training at a time: a second event would find the first's lock
                self._deferred = (event.kind, argv)
            return
        if self._mode == "wait":
            self._wait_for(event.kind, argv)
            return
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"retrain-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        self._child = process
        logger.info("%s: retrain started as process %d, log %s", event.kind, process.pid, log_path)
        threading.Thread(
            target=_reap,
            args=(process, event.kind, log_path),
            name=f"reap-retrain-{process.pid}",
            daemon=True,
        ).start()

    def run_deferred(self) -> None:
        """Start, and wait for, the retrain a deferred event asked for (none: nothing)."""
        if self._deferred is not None:
            kind, argv = self._deferred
            self._deferred = None
            self._wait_for(kind, argv)

    @staticmethod
    def _wait_for(kind: str, argv: list[str]) -> None:
        logger.info("%s: retraining now (%s)", kind, " ".join(argv[1:]))
        sys.stdout.flush()  # what this process printed comes before the child's output in a pipe too
        sys.stderr.flush()
        result = subprocess.run(argv, env=os.environ.copy(), check=False)  # output goes to the user
        if result.returncode != 0:
            logger.error("retrain after %s failed (exit %d)", kind, result.returncode)


def _reap(process: subprocess.Popen[bytes], kind: str, log_path: Path) -> None:
    """Wait for a detached retrain: the kernel keeps an exited child as a zombie until its parent does."""
    code = process.wait()
    if code != 0:
        logger.error("retrain after %s failed (exit %d), log %s", kind, code, log_path)
    else:
        logger.info("retrain after %s finished, log %s", kind, log_path)
