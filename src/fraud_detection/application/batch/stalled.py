"""Find jobs whose queued work was lost, and queue them again.

A broker that loses messages (a Redis restarted or failed over, or one that stalled while a step queued the
next ones) leaves a job `running` or `queued` with nothing left to run it, for ever. A job is stalled when
it is open, no task of it waits in the queue or runs (a task held by a worker counts while its step has a
run under way), and its records did not change between two looks some time apart: then it is queued
again from where its records stand (`JobControl.resume`'s one step, safe to run twice). Looks the queue
cannot answer deem nothing stalled: a duplicate of a job merely waiting its turn would double its work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fraud_detection.domain.errors import JobNotFoundError, ServiceUnavailableError
from fraud_detection.domain.jobs import RUN_LOST_SECONDS
from fraud_detection.domain.ports.jobs import JobQueue, JobStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Look:
    """One look at the open jobs that have nothing queued: job id -> digest of its records. `seen` is
    False when the queue could not tell which jobs it holds."""

    idle: dict[str, str] = field(default_factory=dict)
    seen: bool = True
    claimed: frozenset[str] = frozenset()  # idle ones already queued again from this point (by any sweeper)


@dataclass(frozen=True)
class Sweep:
    look: Look
    resumed: tuple[str, ...] = ()
    stuck: tuple[str, ...] = ()  # still idle a look after being queued again: left to an operator


def utc_now() -> datetime:
    return datetime.now(UTC)


class StalledJobs:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        clock: Callable[[], datetime] = utc_now,
        run_lost_seconds: float = RUN_LOST_SECONDS,
    ) -> None:
        self._store, self._queue, self._clock = store, queue, clock
        self._run_lost = timedelta(seconds=run_lost_seconds)

    def look(self) -> Look:
        work = self._queue.queued_work()
        if work is None:
            return Look(seen=False)
        idle: dict[str, str] = {}
        for job_id in self._store.open_jobs():
            if not work.waiting.get(job_id) and not self._running(job_id, work.held.get(job_id, frozenset())):
                idle[job_id] = self._store.progress(job_id)
        return Look(idle)

    def _running(self, job_id: str, held: frozenset[str]) -> bool:
        """A task held by a worker counts while its step has a run under way. Held without one, it is
        prefetched behind another task, or an entry no worker has: seen on a real stack after a Redis stall
        (a chunk never handed to its task) and a Redis restart (a chunk that ran, its acknowledgement lost),
        each hiding a stalled job until the visibility timeout, an hour. Queued again, such a job sends its
        chunks not done (a prefetched copy that runs later skips its chunk). A run whose mark was not
        renewed for `RUN_LOST_SECONDS` lost its worker (SIGKILLed, out of memory): its task stays held
        until the visibility timeout, an hour, which was how long such a job sat `running`."""
        if not held:
            return False
        now = self._clock()
        runs = self._store.runs_under_way(job_id)
        return any(now - renewed < self._run_lost for step, renewed in runs.items() if step in held)

    def sweep(self, earlier: Look) -> Sweep:
        """Look again, and queue again each job idle in both looks with the same records. Of several
        sweepers (one per worker), one queues a given job. A job queued again that is still idle at the
        same point a look later lost its tasks again (a broker losing what it is sent): it is not queued a
        third time but reported in `stuck`."""
        now = self.look()
        resumed: list[str] = []
        claimed: set[str] = set()
        for job_id, progress in now.idle.items():
            if earlier.idle.get(job_id) != progress or not self._still_open(job_id):
                continue
            if self._store.claim_resume(job_id, progress):
                try:
                    self._queue.enqueue(job_id)
                except ServiceUnavailableError:
                    self._store.release_resume(job_id, progress)  # a later sweep tries again
                    raise
                logger.warning("job %s had nothing queued and made no progress: queued again", job_id)
                resumed.append(job_id)
            else:
                claimed.add(job_id)
        stuck = tuple(sorted(claimed & earlier.claimed))
        return Sweep(Look(now.idle, now.seen, frozenset(claimed)), tuple(resumed), stuck)

    def _still_open(self, job_id: str) -> bool:
        """The index may still list a job that ended (or was deleted) a moment ago."""
        try:
            return not self._store.status(job_id).state.finished
        except JobNotFoundError:
            return False
