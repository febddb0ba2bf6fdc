"""The embedded job queue: jobs run one after another on a thread of this process (no broker to run).

The same job steps as the Celery workers, in order; what it cannot do is survive this process, so the CLI
waits for its job and the API runs its jobs while it lives. A run whose end could not be recorded (the store
still down once its steps and its failure had waited out the outage) leaves an open record that nothing else
would close: the CLI stops following it, pointing to `fraud batch resume`; a long-lived process (the API)
runs it again after `rerun_after` seconds, as often as it takes, as a worker's sweeper would. Each run is
given a `stop` event, set by a cancel: a run waiting for an outage to pass ends then, not a minute later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import JobState
from fraud_detection.domain.ports.jobs import JobQueue, QueuedWork

logger = logging.getLogger(__name__)


class InProcessJobQueue(JobQueue):
    def __init__(
        self, run: Callable[[str, threading.Event], JobState], rerun_after: float | None = None
    ) -> None:
        self._run, self._rerun_after = run, rerun_after
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-job")
        self._futures: dict[str, Future[JobState]] = {}
        self._stops: dict[str, threading.Event] = {}
        self._reruns: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()

    def enqueue(self, job_id: str) -> None:
        """Also lets go of the runs that have ended: the API's queue lives for weeks of jobs."""
        with self._lock:
            for done in [job for job, future in self._futures.items() if future.done()]:
                del self._futures[done], self._stops[done]
            self._reruns.pop(job_id, None)
            # One stop per job while a run of it lives (a resume queued behind a run waiting out an
            # outage): a new one there left that run deaf to a cancel.
            stop = self._stops.setdefault(job_id, threading.Event())
            self._futures[job_id] = self._executor.submit(self._guarded, job_id, stop)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            future, stop = self._futures.get(job_id), self._stops.get(job_id)
            rerun = self._reruns.pop(job_id, None)
        if stop is not None:
            stop.set()  # a wait for an outage to pass ends now
        if rerun is not None:
            rerun.cancel()
        if future is not None:
            future.cancel()  # not started yet: never starts; running: its next chunk sees the record

    def depth(self) -> int:
        with self._lock:
            return sum(1 for future in self._futures.values() if not future.done())

    def queued_work(self) -> QueuedWork:
        """The jobs this process holds (waiting, running or due to run again), each as waiting work: a
        sweep here leaves them be. It cannot see another process's: a job one runs (a CLI's embedded job on
        the same store) counts as idle, and is queued here only if it also made no progress between two
        looks, when running it again is safe (every step is idempotent)."""
        with self._lock:
            held = {job_id for job_id, future in self._futures.items() if not future.done()}
            held |= set(self._reruns)
        return QueuedWork({job_id: frozenset({"run"}) for job_id in held}, {})

    def holds(self, job_id: str) -> bool:
        """Whether the job is waiting, running or due to run again here: once not, a record still open will
        never close (the run ended without recording its end, e.g. the store down when it failed)."""
        with self._lock:
            future = self._futures.get(job_id)
            return job_id in self._reruns or (future is not None and not future.done())

    def wait(self, job_id: str, timeout: float | None = None) -> JobState | None:
        """Block until the job ends (the CLI's embedded mode); None when it was cancelled before starting."""
        future = self._futures.get(job_id)
        if future is None or future.cancelled():
            return None
        return future.result(timeout)

    def _guarded(self, job_id: str, stop: threading.Event) -> JobState:
        try:
            return self._run(job_id, stop)
        except ServiceUnavailableError as error:  # the run's failure could not be recorded: a line, no trace
            if self._rerun_after is None:
                logger.error("batch job %s stopped without recording its end: %s", job_id, error)
            else:
                logger.error(
                    "batch job %s stopped without recording its end: %s; it runs again in %g s",
                    job_id,
                    error,
                    self._rerun_after,
                )
                self._rerun_later(job_id, self._rerun_after)
            raise
        except Exception:
            logger.exception("batch job %s crashed", job_id)
            raise

    def _rerun_later(self, job_id: str, seconds: float) -> None:
        """A daemon timer: a process that exits meanwhile leaves the job to `fraud batch resume`."""
        timer = threading.Timer(seconds, self._rerun, (job_id,))
        timer.daemon = True
        with self._lock:
            self._reruns[job_id] = timer
        timer.start()

    def _rerun(self, job_id: str) -> None:
        with self._lock:
            due = job_id in self._reruns
        if due:  # not queued again by hand meanwhile
            logger.warning("batch job %s: running it again from where its records stand", job_id)
            self.enqueue(job_id)
