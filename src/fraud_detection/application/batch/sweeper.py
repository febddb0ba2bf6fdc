"""Looking for stalled jobs on a thread, every `interval` seconds (`StalledJobs`): each Celery worker does
(workers/sweeper.py, counted in its metrics), and so does the API in the embedded mode, where a restart
left the jobs it was running open with nothing to run them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fraud_detection.application.batch.stalled import Look, StalledJobs

logger = logging.getLogger(__name__)


class Sweeper:
    """`jobs` is called at each look: the API builds its job graph on first use, not as it starts."""

    def __init__(self, jobs: Callable[[], StalledJobs], interval: float) -> None:
        self._jobs, self._interval = jobs, interval
        self._stop = threading.Event()
        self._reported: set[str] = set()
        self._look: Look | None = None

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="stalled-job-sweeper", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def once(self) -> tuple[str, ...]:
        """One look (the first only records what it saw); returns the jobs queued again."""
        if self._look is None:
            self._look = self._jobs().look()
            return ()
        sweep = self._jobs().sweep(self._look)
        self._look = sweep.look
        self.resumed(sweep.resumed)
        for job_id in set(sweep.stuck) - self._reported:
            self.stuck(job_id)
        self._reported &= set(sweep.look.claimed)  # a job that moved on may be reported again later
        self._reported |= set(sweep.stuck)
        return sweep.resumed

    def resumed(self, job_ids: tuple[str, ...]) -> None:
        """Jobs queued again by this look (each already logged by `StalledJobs`)."""

    def stuck(self, job_id: str) -> None:
        """A job queued again that stalled again at the same point: reported once, left to an operator."""
        logger.error(
            "job %s stalled again after being queued again from the same point; once its queue is healthy, "
            "run `fraud batch resume %s`",
            job_id,
            job_id,
        )

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.once()
            except Exception as error:  # an outage: look again from scratch next time
                logger.warning("could not look for stalled batch jobs: %s", error)
                self._look = None
