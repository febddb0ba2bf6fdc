"""Job status and cancellation."""

from __future__ import annotations

from fraud_detection.domain.errors import JobNotFoundError
from fraud_detection.domain.jobs import (
    CANCELLED_BY_REQUEST,
    JOB_ID,
    JOB_ID_RULE,
    JobMark,
    JobState,
    JobStatus,
    JobViewer,
)
from fraud_detection.domain.ports.jobs import BatchFiles, JobQueue, JobStore


class JobControl:
    def __init__(self, store: JobStore, queue: JobQueue, files: BatchFiles) -> None:
        self._store, self._queue, self._files = store, queue, files

    def status(self, job_id: str, viewer: JobViewer | None = None) -> JobStatus:
        """`viewer`: an API client, who sees only its namespace's jobs (another's reads as no job: the
        answer says nothing of what exists); None for an operator."""
        if viewer is not None and not viewer.sees(self._store.owner(_checked(job_id))):
            raise JobNotFoundError(f"no job '{job_id}'")  # before its records are read: they are not its
        return self._store.status(_checked(job_id))

    def cancel(self, job_id: str, viewer: JobViewer | None = None) -> JobStatus:
        """A finished job stays as it ended; otherwise no output will be written (chunks still running
        finish, but the commit step sees the cancellation and only cleans up). Once the commit has started
        the cancel leaves the ending to it (`JobMark`): the status returned is then still running, and the
        job ends cancelled if the commit saw this request in time, succeeded otherwise."""
        status = self.status(job_id, viewer)
        if status.state.finished:
            return status
        self._store.mark(job_id, JobMark.CANCEL_REQUESTED)
        if self._store.has_mark(job_id, JobMark.COMMITTING):
            return self._store.status(job_id)
        self._store.finish(job_id, JobState.CANCELLED, CANCELLED_BY_REQUEST)
        self._queue.cancel(job_id)
        self._files.clean(job_id)
        return self._store.status(job_id)

    def resume(self, job_id: str) -> JobStatus:
        """Queue an unfinished job's steps again: for a job whose queued tasks were lost (a broker that
        restarted without persistence, a failover that lost its last writes), which would otherwise stay
        running for ever. Safe to repeat, as every step is (a plan kept, a part rewritten, one commit);
        a job still being worked on is merely scored twice. A finished job is left as it ended."""
        status = self._store.status(_checked(job_id))
        if not status.state.finished:
            self._queue.enqueue(job_id)
        return status


def _checked(job_id: str) -> str:
    """A malformed id names no job (and must never reach the store as a key)."""
    if not JOB_ID.fullmatch(job_id):
        raise JobNotFoundError(f"no job '{job_id}': job ids are {JOB_ID_RULE}")
    return job_id
