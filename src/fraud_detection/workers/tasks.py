"""The batch-scoring tasks: thin calls into `JobSteps`, one task per step.

prepare(job) stages the input and fans out a chord: score_chunk(job, i) for every chunk, then commit(job).
Every task retries outages (`ServiceUnavailableError`, a broker error) with exponential backoff and jitter;
any failure that escapes a task for good ends the job as failed (`JobTask.on_failure`), and a chord whose
header failed runs `abort` as well, so no job stays "running" forever. Each step is idempotent, so late
acknowledgement and redelivery after a worker dies are safe.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis.exceptions
from celery import Celery, Signature, Task, chord, shared_task
from celery.utils.log import get_task_logger
from kombu.exceptions import OperationalError

from fraud_detection.domain.errors import FraudDetectionError, JobNotFoundError, ServiceUnavailableError
from fraud_detection.domain.jobs import OUTAGE_RETRIES, OUTAGE_WAIT_MAX_SECONDS, FailureKind, failure_kind
from fraud_detection.infrastructure.celery.names import (
    ABORT,
    COMMIT,
    PREPARE,
    SCORE_CHUNK,
    chunk_task_id,
    commit_task_id,
)
from fraud_detection.infrastructure.prometheus.worker_metrics import CHUNK_SECONDS, ROWS_SCORED, TASK_FAILURES
from fraud_detection.workers.composition import job_steps

logger = get_task_logger(__name__)
# For `on_failure`, which runs outside the task's context: the task logger's format would print "???[???]".
failure_logger = logging.getLogger("fraud_detection.workers.failures")
MAX_RETRIES = OUTAGE_RETRIES  # the schedule and why: domain/jobs.py
# Redis errors that reach a task without kombu's wrapping: the result backend's (a chord's setup in prepare,
# storing a chunk's result for its chord). A 30 s Redis stall otherwise failed the job as "internal".
BROKER_OUTAGES: tuple[type[Exception], ...] = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


class JobTask(Task):  # type: ignore[misc]
    """Retry policy and failure handling shared by the batch tasks (the first argument is the job id)."""

    autoretry_for = (ServiceUnavailableError, *BROKER_OUTAGES)
    retry_backoff = True
    retry_backoff_max = OUTAGE_WAIT_MAX_SECONDS
    retry_jitter = True
    max_retries = MAX_RETRIES
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(
        self, exc: BaseException, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any], einfo: Any
    ) -> None:
        TASK_FAILURES.labels(task=self.name).inc()
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is None or isinstance(exc, JobNotFoundError):
            failure_logger.error("%s[%s] for job %s failed: %s", self.name, task_id, job_id, exc)
            return
        try:
            if self._only_its_result_was_lost(exc, str(job_id), args):
                failure_logger.warning(
                    "job %s: chunk %s was scored, but the broker could not store its result (%s); the chord "
                    "completes the job once the broker is back",
                    job_id,
                    args[1],
                    exc,
                )
                return
            kind = FailureKind.SERVICE if isinstance(exc, BROKER_OUTAGES) else failure_kind(exc)
            job_steps().fail(str(job_id), FraudDetectionError(failure_reason(self, exc)), kind)
        except Exception:
            failure_logger.exception("could not record the failure of job %s", job_id)

    def _only_its_result_was_lost(self, error: BaseException, job_id: str, args: tuple[Any, ...]) -> bool:
        """A chunk task that scored and marked its chunk, then failed to store its result in Redis (after the
        body, where no retry applies): the job's work stands. Its chord's error callback (`abort`) then
        queues the commit rather than failing the job."""
        return (
            self.name == SCORE_CHUNK
            and isinstance(error, BROKER_OUTAGES)
            and len(args) > 1
            and job_steps().chunk_done(job_id, int(args[1]))
        )


def failure_reason(task: JobTask, error: BaseException) -> str:
    step = task.name.rsplit(".", 1)[-1]
    if isinstance(error, (ServiceUnavailableError, *BROKER_OUTAGES)):
        return f"{step}: {error} (gave up after {task.request.retries} retries)"
    if isinstance(error, FraudDetectionError):
        return f"{step}: {error}"
    return f"{step}: unexpected {type(error).__name__}: {error}"


@shared_task(name=PREPARE, base=JobTask, bind=True, ignore_result=True)  # type: ignore[untyped-decorator]
def prepare(self: JobTask, job_id: str) -> int:
    """Stage and plan the job, then queue its chunks not yet done (all of them on a first run) and the
    commit after them; returns the number of chunks queued. Signatures are built by name on this task's own
    app (no reliance on a process-wide "current app")."""
    steps = job_steps()
    try:
        plan = steps.prepare(job_id)
    except JobNotFoundError:
        return _no_record(job_id)
    if plan is None:
        return 0  # the job already ended (cancelled, failed on bad input, or done)
    app = self.app
    chunks = steps.chunks_to_score(job_id, plan)
    callback = commit_signature(app, job_id)
    if not chunks:  # every chunk was scored before the job's tasks were lost: only the commit is left
        callback.apply_async()
        logger.info("job %s: every chunk already scored; commit queued", job_id)
        return 0
    header = [
        app.signature(
            SCORE_CHUNK, (job_id, chunk.index), task_id=chunk_task_id(job_id, chunk.index), immutable=True
        )
        for chunk in chunks
    ]
    chord(header, app=app)(callback)
    logger.info("job %s: %d of %d chunk(s) queued", job_id, len(chunks), len(plan.chunks))
    return len(chunks)


def _no_record(job_id: str) -> int:
    """A task of a job with no record: its submission timed out on a stalled Redis after the message was
    written, and was undone (HTTP 503); the message arrived anyway. Nothing to do, and no traceback."""
    logger.warning("job %s has no record (its submission was refused and undone): nothing to do", job_id)
    return 0


def commit_signature(app: Celery, job_id: str, aborting: bool = True) -> Signature:
    """The job's commit, with `abort` as its error callback unless told otherwise."""
    callback = app.signature(COMMIT, (job_id,), task_id=commit_task_id(job_id), immutable=True)
    if aborting:
        callback.on_error(app.signature(ABORT, (job_id,), immutable=True))
    return callback


@shared_task(name=SCORE_CHUNK, base=JobTask)  # type: ignore[untyped-decorator]
def score_chunk(job_id: str, index: int) -> int:
    started = time.perf_counter()
    try:
        rows = job_steps().score_chunk(job_id, index)
    except JobNotFoundError:
        return _no_record(job_id)
    if rows:
        seconds = time.perf_counter() - started
        ROWS_SCORED.inc(rows)
        CHUNK_SECONDS.observe(seconds)
        logger.info("job %s chunk %d: %d rows scored in %.2f s", job_id, index, rows, seconds)
    return rows


@shared_task(name=COMMIT, base=JobTask, ignore_result=True)  # type: ignore[untyped-decorator]
def commit(job_id: str) -> str:
    state = job_steps().commit(job_id)
    logger.info("job %s: %s", job_id, state.value)
    return state.value


@shared_task(name=ABORT, base=JobTask, bind=True, ignore_result=True)  # type: ignore[untyped-decorator]
def abort(self: JobTask, job_id: str) -> None:
    """Error callback of a job's chord: a chunk (or the commit) failed for good. `on_failure` has usually
    recorded the precise error already; the first recorded outcome wins. A chord whose every chunk was
    scored failed only in Redis's bookkeeping (a result it could not store while stalled): the commit is
    queued instead."""
    steps = job_steps()
    if steps.only_commit_left(job_id):
        # Without `abort` as its error callback: a commit failing for good records that itself.
        commit_signature(self.app, job_id, aborting=False).apply_async()
        logger.warning(
            "job %s: every chunk was scored; its chord failed in the broker only; commit queued", job_id
        )
        return
    steps.fail(job_id, FraudDetectionError("a task of the job failed for good; see the worker logs"))
