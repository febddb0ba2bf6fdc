"""Renew a step's run mark on a thread while the step runs, so that a sweep can tell a run under way from
one whose worker died (`RUN_LOST_SECONDS`)."""

from __future__ import annotations

import logging
import threading

from fraud_detection.domain.ports.jobs import JobStore

logger = logging.getLogger(__name__)


class RunRenewal:
    def __init__(self, store: JobStore, job_id: str, step: str, token: str, interval: float) -> None:
        self._store, self._job_id, self._step, self._token = store, job_id, step, token
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"run-renewal {job_id} {step}", daemon=True)
        self._failed = False

    def start(self) -> RunRenewal:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Joined, so that no renewal lands after the run's end and brings its mark back."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._store.renew_run(self._job_id, self._step, self._token)
            except Exception as error:  # the store down: the step's own calls will say so; try again later
                if not self._failed:
                    logger.warning(
                        "job %s: could not renew the run of %s: %s", self._job_id, self._step, error
                    )
                self._failed = True
            else:
                self._failed = False
