"""A whole job in one place: prepare, every chunk in order, commit (the embedded queue's worker)."""

from __future__ import annotations

from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.domain.jobs import JobState


def run_job(steps: JobSteps, job_id: str) -> JobState:
    """No retries here (nothing else would pick the job up): any failure ends the job as failed."""
    try:
        plan = steps.prepare(job_id)
        if plan is not None:
            for chunk in plan.chunks:
                steps.score_chunk(job_id, chunk.index)
        return steps.commit(job_id)
    except Exception as error:
        steps.fail(job_id, error)
        return JobState.FAILED
