"""A whole job in one place: prepare, every chunk in order, commit (the embedded queue's worker)."""

from __future__ import annotations

from functools import partial

from fraud_detection.application.batch.patience import OutagePatience
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import COMMIT_STEP, PREPARE_STEP, JobState, chunk_step


def run_job(steps: JobSteps, job_id: str, patience: OutagePatience | None = None) -> JobState:
    """Each step rides out an outage as a worker's task would (`patience`; none: fail at once); any
    failure past that ends the job as failed. Recording the failure rides out the outage too: when it
    cannot, the outage is raised and the job's record stays open (`fraud batch resume` runs it again)."""
    patience = patience or OutagePatience(retries=0)
    try:
        plan = patience.call(job_id, PREPARE_STEP, partial(steps.prepare, job_id))
        if plan is not None:
            for index in (chunk.index for chunk in plan.chunks):
                patience.call(job_id, chunk_step(index), partial(steps.score_chunk, job_id, index))
        return patience.call(job_id, COMMIT_STEP, partial(steps.commit, job_id))
    except Exception as error:
        try:
            patience.call(job_id, "recording its failure", partial(steps.fail, job_id, error))
        except ServiceUnavailableError as unrecorded:
            raise ServiceUnavailableError(f"{unrecorded}; the failure not recorded: {error}") from error
        return JobState.FAILED
