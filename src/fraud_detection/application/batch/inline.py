"""A whole job in one place: prepare, every chunk in order, commit (the embedded queue's worker)."""

from __future__ import annotations

from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.domain.jobs import JobState


def run_job(steps: JobSteps, job_id: str) -> JobState:
    plan = steps.prepare(job_id)
    if plan is not None:
        for chunk in plan.chunks:
            steps.score_chunk(job_id, chunk.index)
    return steps.commit(job_id)
