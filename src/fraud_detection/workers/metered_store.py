"""A `JobStore` decorator that counts job outcomes where they are recorded, keeping metrics out of the use
cases: whichever worker process writes a job's first outcome counts it once in `fraud_batch_jobs_total`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fraud_detection.domain.jobs import (
    OPERATOR,
    FailureKind,
    JobMark,
    JobPlan,
    JobRequest,
    JobSnapshot,
    JobState,
    JobStatus,
)
from fraud_detection.domain.ports.jobs import JobStore
from fraud_detection.infrastructure.prometheus.worker_metrics import JOBS


class MeteredJobStore(JobStore):
    def __init__(self, inner: JobStore) -> None:
        self._inner = inner

    def finish(
        self, job_id: str, state: JobState, error: str | None = None, kind: FailureKind | None = None
    ) -> None:
        # Same check as the store's "first outcome wins"; a job ended by another process is not recounted.
        already_ended = self._inner.status(job_id).state.finished
        self._inner.finish(job_id, state, error, kind)
        if not already_ended:
            JOBS.labels(state=state.value).inc()

    def create(self, request: JobRequest, owner: str = OPERATOR) -> None:
        self._inner.create(request, owner)

    def request(self, job_id: str) -> JobRequest:
        return self._inner.request(job_id)

    def owner(self, job_id: str) -> str | None:
        return self._inner.owner(job_id)

    def save_plan(self, job_id: str, plan: JobPlan) -> None:
        self._inner.save_plan(job_id, plan)

    def plan(self, job_id: str) -> JobPlan | None:
        return self._inner.plan(job_id)

    def mark_chunk_done(self, job_id: str, index: int, rows: int) -> None:
        self._inner.mark_chunk_done(job_id, index, rows)

    def begin_run(self, job_id: str, step: str) -> tuple[str, int]:
        return self._inner.begin_run(job_id, step)

    def renew_run(self, job_id: str, step: str, token: str) -> None:
        self._inner.renew_run(job_id, step, token)

    def end_run(self, job_id: str, step: str, token: str) -> None:
        self._inner.end_run(job_id, step, token)

    def mark(self, job_id: str, mark: JobMark) -> None:
        self._inner.mark(job_id, mark)

    def has_mark(self, job_id: str, mark: JobMark) -> bool:
        return self._inner.has_mark(job_id, mark)

    def status(self, job_id: str) -> JobStatus:
        return self._inner.status(job_id)

    def snapshot(self, job_id: str) -> JobSnapshot:
        return self._inner.snapshot(job_id)

    def delete(self, job_id: str) -> None:
        self._inner.delete(job_id)

    def done_chunks(self, job_id: str) -> frozenset[int]:
        return self._inner.done_chunks(job_id)

    def open_jobs(self) -> Iterator[str]:
        return self._inner.open_jobs()

    def progress(self, job_id: str) -> str:
        return self._inner.progress(job_id)

    def claim_resume(self, job_id: str, progress: str) -> bool:
        return self._inner.claim_resume(job_id, progress)

    def release_resume(self, job_id: str, progress: str) -> None:
        self._inner.release_resume(job_id, progress)

    def runs_under_way(self, job_id: str) -> dict[str, datetime]:
        return self._inner.runs_under_way(job_id)
