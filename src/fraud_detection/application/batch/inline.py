"""A whole job in one place: prepare, every chunk in order, commit (the embedded queue's worker)."""

from __future__ import annotations

import threading
from functools import partial

from fraud_detection.application.batch.patience import CancelledWhileWaitingError, OutagePatience
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import COMMIT_STEP, PREPARE_STEP, JobState, chunk_step


def run_job(
    steps: JobSteps,
    job_id: str,
    patience: OutagePatience | None = None,
    stop: threading.Event | None = None,
) -> JobState:
    """Each step rides out an outage as a worker's task would (`patience`; none: fail at once); any
    failure past that ends the job as failed. Recording the failure rides out the outage too: when it
    cannot, the outage is raised and the job's record stays open (`fraud batch resume` runs it again).
    `stop` is set by a cancel, which has recorded the job's end: a wait for an outage to pass ends there
    (CANCELLED returned), where it would have waited up to a minute to find the record cancelled."""
    patience = patience or OutagePatience(retries=0)
    stop = stop or threading.Event()
    try:
        plan = patience.call(job_id, PREPARE_STEP, partial(steps.prepare, job_id), stop)
        if plan is not None:
            for index in (chunk.index for chunk in plan.chunks):
                patience.call(job_id, chunk_step(index), partial(steps.score_chunk, job_id, index), stop)
        return patience.call(job_id, COMMIT_STEP, partial(steps.commit, job_id), stop)
    except CancelledWhileWaitingError:
        return JobState.CANCELLED
    except Exception as error:
        try:
            patience.call(job_id, "recording its failure", partial(steps.fail, job_id, error), stop)
        except CancelledWhileWaitingError:
            return JobState.CANCELLED
        except ServiceUnavailableError as unrecorded:
            raise ServiceUnavailableError(f"{unrecorded}; the failure not recorded: {error}") from error
        return JobState.FAILED
