"""Job status and cancellation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from fraud_detection.application.batch.stalled import utc_now
from fraud_detection.domain.errors import JobBusyError, JobNotFoundError
from fraud_detection.domain.jobs import (
    CANCELLED_BY_REQUEST,
    JOB_ID_RULE,
    RUN_LOST_SECONDS,
    STORED_JOB_ID,
    JobMark,
    JobState,
    JobStatus,
    JobViewer,
)
from fraud_detection.domain.ports.jobs import BatchFiles, JobQueue, JobStore


class JobControl:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        files: BatchFiles,
        run_lost_seconds: float = RUN_LOST_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store, self._queue, self._files = store, queue, files
        self._run_lost, self._clock = timedelta(seconds=run_lost_seconds), clock

    def status(self, job_id: str, viewer: JobViewer | None = None) -> JobStatus:
        """`viewer`: an API client, who sees only its namespace's jobs, by the ids it gave (another's reads
        as no job: the answer says nothing of what exists); None for an operator, who names jobs as
        recorded (`acme:day-1`)."""
        return self._shown(self._recorded(job_id, viewer), viewer)

    def cancel(self, job_id: str, viewer: JobViewer | None = None) -> JobStatus:
        """A finished job stays as it ended; otherwise no output will be written (chunks still running
        finish, but the commit step sees the cancellation and only cleans up). Once the commit has started
        the cancel leaves the ending to it (`JobMark`): the status returned is then still running, and the
        job ends cancelled if the commit saw this request in time, succeeded otherwise."""
        stored = self._recorded(job_id, viewer)  # the owner looked up once
        status = self._shown(stored, viewer)
        if status.state.finished:
            return status
        self._store.mark(stored, JobMark.CANCEL_REQUESTED)
        if not self._store.has_mark(stored, JobMark.COMMITTING):
            self._store.finish(stored, JobState.CANCELLED, CANCELLED_BY_REQUEST)
            self._queue.cancel(stored)
            self._files.clean(stored)
        return self._shown(stored, viewer)

    def _shown(self, stored: str, viewer: JobViewer | None) -> JobStatus:
        """The status of the recorded job `stored`, named as `viewer` named it."""
        status = self._store.status(stored)
        return status if viewer is None else replace(status, job_id=viewer.shown(stored))

    def _recorded(self, job_id: str, viewer: JobViewer | None) -> str:
        """The recorded id `job_id` names for `viewer`, checked before any of its records is read (they
        are not the viewer's to read unless it sees the job)."""
        if viewer is None:
            return _checked(job_id)
        for stored in viewer.candidates(_checked(job_id)):
            owner = self._store.owner(stored)
            if stored != job_id and owner is None:
                continue  # no such job in the viewer's namespace (such a record always has an owner)
            if viewer.sees(owner):
                return stored
        raise JobNotFoundError(f"no job '{job_id}'")

    def resume(self, job_id: str, force: bool = False) -> JobStatus:
        """Queue an unfinished job's steps again: for a job whose queued tasks were lost (a broker that
        restarted without persistence, a failover that lost its last writes), which would otherwise stay
        running for ever. Safe to repeat, as every step is (a plan kept, a part rewritten, one commit).
        A job still being worked on (a step whose run mark is renewed, or tasks waiting in the queue) is
        refused unless `force`: queued again, its work was done twice, the second time a worker's
        whole turn. A finished job is left as it ended."""
        status = self._store.status(_checked(job_id))
        if status.state.finished:
            return status
        if not force:
            self._refuse_if_busy(job_id)
        self._queue.enqueue(job_id)
        return status

    def _refuse_if_busy(self, job_id: str) -> None:
        """A queue that cannot tell what it holds (Redis unreachable) hides waiting tasks: the enqueue
        after this fails on the same outage anyway."""
        now = self._clock()
        live = {
            step: now - renewed
            for step, renewed in self._store.runs_under_way(job_id).items()
            if now - renewed < self._run_lost
        }
        if live:
            step, age = min(live.items(), key=lambda item: item[1])
            lost = self._run_lost.total_seconds()
            raise JobBusyError(
                f"job {job_id} is being worked on: its step '{step}' renewed its run mark "
                f"{age.total_seconds():.0f} s ago (a mark not renewed for {lost:g} s "
                "is a dead worker's, FRAUD_BATCH_RUN_LOST_SECONDS); queued again its work would be done "
                "twice. Wait, or pass --force if you know its worker is gone"
            )
        work = self._queue.queued_work()
        waiting = sorted(work.waiting.get(job_id, frozenset())) if work is not None else []
        if waiting:
            raise JobBusyError(
                f"job {job_id} has {len(waiting)} task(s) waiting in the queue ({', '.join(waiting[:3])}"
                f"{', ...' if len(waiting) > 3 else ''}): it is not stalled, its turn will come. "
                "Pass --force to queue it again anyway"
            )


# A refused id is quoted this far: a 10 KB one came back whole in the 404 (and a line break split it).
SHOWN_ID_MAX = 80


def _checked(job_id: str) -> str:
    """A malformed id names no job (and must never reach the store as a key)."""
    if not STORED_JOB_ID.fullmatch(job_id):
        shown = repr(job_id[:SHOWN_ID_MAX])
        if len(job_id) > SHOWN_ID_MAX:
            shown += f"... ({len(job_id):,} characters)"
        raise JobNotFoundError(f"no job {shown}: job ids are {JOB_ID_RULE}")
    return job_id
