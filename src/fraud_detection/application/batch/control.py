"""Job status and cancellation."""

from __future__ import annotations

from fraud_detection.domain.jobs import JobState, JobStatus
from fraud_detection.domain.ports.jobs import BatchFiles, JobQueue, JobStore


class JobControl:
    def __init__(self, store: JobStore, queue: JobQueue, files: BatchFiles) -> None:
        self._store, self._queue, self._files = store, queue, files

    def status(self, job_id: str) -> JobStatus:
        return self._store.status(job_id)

    def cancel(self, job_id: str) -> JobStatus:
        """A finished job stays as it ended; otherwise no output will be written (chunks still running
        finish, but the commit step sees the cancellation and only cleans up)."""
        status = self._store.status(job_id)
        if not status.state.finished:
            self._store.finish(job_id, JobState.CANCELLED, "cancelled by request")
            self._queue.cancel(job_id)
            self._files.clean(job_id)
        return self._store.status(job_id)
