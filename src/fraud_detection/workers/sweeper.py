"""Each worker's main process looks for stalled jobs every `FRAUD_BATCH_SWEEP_SECONDS` and queues them again
(`StalledJobs`), so that a broker losing a job's tasks no longer leaves it `running` until somebody runs
`fraud batch resume`. Every worker sweeps (no single point to keep alive); the job store lets one of them
queue a given job.
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutdown

from fraud_detection.application.batch.stalled import Look, StalledJobs
from fraud_detection.infrastructure.prometheus.worker_metrics import JOBS_RESUMED, JOBS_STUCK
from fraud_detection.workers.composition import stalled_jobs

logger = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, jobs: StalledJobs, interval: float) -> None:
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
            self._look = self._jobs.look()
            return ()
        sweep = self._jobs.sweep(self._look)
        self._look = sweep.look
        JOBS_RESUMED.inc(len(sweep.resumed))
        for job_id in set(sweep.stuck) - self._reported:
            JOBS_STUCK.inc()
            logger.error(
                "job %s lost its tasks again after being queued again from the same point: the broker "
                "drops what it is sent; once it is healthy, run `fraud batch resume %s`",
                job_id,
                job_id,
            )
        self._reported &= set(sweep.look.claimed)  # a job that moved on may be reported again later
        self._reported |= set(sweep.stuck)
        return sweep.resumed

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.once()
            except Exception as error:  # an outage: look again from scratch next time
                logger.warning("could not look for stalled batch jobs: %s", error)
                self._look = None


def sweep_while_working(interval: float) -> None:
    """Start the sweeper when the worker is ready (in its main process, whatever the pool), stop it as the
    worker shuts down."""
    if interval <= 0:
        return

    def start(**_: object) -> None:
        sweeper = Sweeper(stalled_jobs(), interval)
        worker_shutdown.connect(lambda **__: sweeper.stop(), weak=False)
        sweeper.start()

    worker_ready.connect(start, weak=False)
