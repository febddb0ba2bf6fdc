"""Each worker's main process looks for stalled jobs every `FRAUD_BATCH_SWEEP_SECONDS` and queues them again
(`StalledJobs`), so that a broker losing a job's tasks no longer leaves it `running` until somebody runs
`fraud batch resume`. Every worker sweeps (no single point to keep alive); the job store lets one of them
queue a given job.
"""

from __future__ import annotations

import logging

from celery.signals import worker_ready, worker_shutdown

from fraud_detection.application.batch.sweeper import Sweeper as StalledJobSweeper
from fraud_detection.infrastructure.prometheus.worker_metrics import JOBS_RESUMED, JOBS_STUCK
from fraud_detection.workers.composition import stalled_jobs

logger = logging.getLogger(__name__)


class Sweeper(StalledJobSweeper):
    """A worker's: counted in its metrics, and a job that stalls again blamed on the broker."""

    def resumed(self, job_ids: tuple[str, ...]) -> None:
        JOBS_RESUMED.inc(len(job_ids))

    def stuck(self, job_id: str) -> None:
        JOBS_STUCK.inc()
        logger.error(
            "job %s lost its tasks again after being queued again from the same point: the broker "
            "drops what it is sent; once it is healthy, run `fraud batch resume %s`",
            job_id,
            job_id,
        )


def sweep_while_working(interval: float) -> None:
    """Start the sweeper when the worker is ready (in its main process, whatever the pool), stop it as the
    worker shuts down."""
    if interval <= 0:
        return

    def start(**_: object) -> None:
        sweeper = Sweeper(stalled_jobs, interval)
        worker_shutdown.connect(lambda **__: sweeper.stop(), weak=False)
        sweeper.start()

    worker_ready.connect(start, weak=False)
