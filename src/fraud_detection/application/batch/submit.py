"""Submit a scoring job: record it and queue it, undoing the record if the queue refuses, so a broker outage
leaves nothing half-recorded. The input and output must sit under the configured roots (refused here, before
anything is recorded, with one message whatever exists there); what the files hold is checked by the job's
first step, which fails the job at once with the problem in its status (a file can also appear or vanish
between submit and run, and the workers check the roots again as they open each file)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fraud_detection.domain.batch_roots import BatchRoots, Direction
from fraud_detection.domain.errors import InvalidDataError, JobExistsError, ServiceUnavailableError
from fraud_detection.domain.jobs import (
    JOB_ID,
    JOB_ID_RULE,
    OPERATOR,
    JobRequest,
    JobStatus,
    new_job_id,
    output_name_problem,
    stored_job_id,
)
from fraud_detection.domain.ports.jobs import JobQueue, JobStore


class SubmitScoringJob:
    def __init__(
        self, store: JobStore, queue: JobQueue, roots: BatchRoots, namespace_folders: bool = False
    ) -> None:
        """`namespace_folders`: an API client's job is confined to its namespace's folder of each root."""
        self._store, self._queue, self._roots = store, queue, roots
        self._namespace_folders = namespace_folders

    def __call__(
        self,
        input_uri: str,
        output_uri: str,
        model: str = "champion",
        job_id: str | None = None,
        owner: str = OPERATOR,
    ) -> JobStatus:
        """`owner`: the submitting API client's namespace (its clients alone see the job over HTTP, by the
        id they gave; it is recorded as `<owner>:<job_id>`, `stored_job_id`)."""
        job_id = job_id or new_job_id()
        if not JOB_ID.fullmatch(job_id):
            raise InvalidDataError("job_id", f"'{job_id}' is not a job id: use {JOB_ID_RULE}")
        roots = self._roots_of(owner)
        source = roots.place(input_uri, Direction.INPUT).uri
        target = roots.place(output_uri, Direction.OUTPUT).uri
        if (problem := output_name_problem(target)) is not None:  # after the roots' one answer for all
            raise InvalidDataError("output", problem)
        taken = JobExistsError(f"job '{job_id}' already exists; choose another id")  # the id it gave
        if owner != OPERATOR and self._store.owner(job_id) == owner:
            raise taken  # its namespace's job, recorded under the bare id before ids were namespaced
        stored = stored_job_id(owner, job_id)
        request = JobRequest(stored, source, target, model, datetime.now(UTC).isoformat())
        try:
            self._store.create(request, owner)
        except JobExistsError:
            raise taken from None
        try:
            self._queue.enqueue(stored)
        except ServiceUnavailableError:
            self._store.delete(stored)
            raise
        return replace(self._store.status(stored), job_id=job_id)

    def _roots_of(self, owner: str) -> BatchRoots:
        """Checked here only: a job's locations are recorded once, by this call, and the workers read that
        record (they check the roots again, and refuse symlinks, as they open each file)."""
        if self._namespace_folders and owner != OPERATOR:
            return self._roots.within(owner)
        return self._roots
