"""Ports of batch scoring: where job records live, how work is queued, how input and output are read
and written."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from fraud_detection.domain.jobs import (
    OPERATOR,
    Chunk,
    FailureKind,
    JobMark,
    JobPlan,
    JobRequest,
    JobSnapshot,
    JobState,
    JobStatus,
)


class JobStore(ABC):
    """Durable job records shared by every worker; each write is atomic and chunk marks are idempotent."""

    @abstractmethod
    def create(self, request: JobRequest, owner: str = OPERATOR) -> None:
        """Record a new job (state queued) of `owner` (domain/jobs.py OPERATOR or a client namespace), the
        owner first: a job readable before its owner is recorded reads as one from before owners, every
        client's. Raises `JobExistsError` if the id is taken (by another owner's claim, too)."""

    @abstractmethod
    def request(self, job_id: str) -> JobRequest:
        """Raises `JobNotFoundError`."""

    @abstractmethod
    def owner(self, job_id: str) -> str | None:
        """The job's owner; None for a job recorded before owners were."""

    @abstractmethod
    def save_plan(self, job_id: str, plan: JobPlan) -> None: ...

    @abstractmethod
    def plan(self, job_id: str) -> JobPlan | None: ...

    @abstractmethod
    def mark_chunk_done(self, job_id: str, index: int, rows: int) -> None: ...

    @abstractmethod
    def finish(
        self, job_id: str, state: JobState, error: str | None = None, kind: FailureKind | None = None
    ) -> None:
        """Record the outcome (succeeded, failed or cancelled; a failure's kind); the first outcome wins."""

    @abstractmethod
    def begin_run(self, job_id: str, step: str) -> tuple[str, int]:
        """Record that a run of `step` ('prepare', 'chunk 3', 'commit') started: its token, and how many
        earlier runs of the step never ended (their worker died, or one is still going)."""

    @abstractmethod
    def renew_run(self, job_id: str, step: str, token: str) -> None:
        """The run is still going: its mark's time becomes now (a mark not renewed is a dead worker's)."""

    @abstractmethod
    def end_run(self, job_id: str, step: str, token: str) -> None:
        """The run ended, whatever its result: it no longer counts as lost."""

    @abstractmethod
    def mark(self, job_id: str, mark: JobMark) -> None:
        """Record `mark` for the job (idempotent); read back by every process once this returns."""

    @abstractmethod
    def has_mark(self, job_id: str, mark: JobMark) -> bool: ...

    @abstractmethod
    def status(self, job_id: str) -> JobStatus:
        """Derived from the records; raises `JobNotFoundError`."""

    def snapshot(self, job_id: str) -> JobSnapshot:
        """The status with its plan and done chunks; stores that derive the status from them override this
        to read each record once."""
        return JobSnapshot(self.status(job_id), self.plan(job_id), self.done_chunks(job_id))

    @abstractmethod
    def delete(self, job_id: str) -> None:
        """Forget the job entirely (used to undo a submission the queue refused)."""

    @abstractmethod
    def done_chunks(self, job_id: str) -> frozenset[int]:
        """Indexes of the chunks marked done: a job queued again needs only the others."""

    @abstractmethod
    def open_jobs(self) -> Iterator[str]:
        """Ids of the jobs recorded and not yet ended, read from an index rather than by listing every
        record; a job that ended (or was deleted) may still come out, until `progress` is asked of it."""

    @abstractmethod
    def progress(self, job_id: str) -> str:
        """An opaque digest of the job's records that changes whenever a step records anything: equal
        digests a while apart mean nothing happened to the job meanwhile."""

    @abstractmethod
    def runs_under_way(self, job_id: str) -> dict[str, datetime]:
        """Steps with a run begun and not ended ('chunk 3') -> the latest time one of those runs began or
        was renewed: running now (renewed lately), or lost with their worker."""

    @abstractmethod
    def claim_resume(self, job_id: str, progress: str) -> bool:
        """Create-if-absent of a claim to queue the job again from the point `progress` names: of several
        sweepers seeing one stalled job, one gets True; a second stall at the same point gets False."""

    @abstractmethod
    def release_resume(self, job_id: str, progress: str) -> None:
        """Undo `claim_resume` (the queue refused the job): a later sweep may claim it again."""


@dataclass(frozen=True)
class QueuedWork:
    """Steps ('prepare', 'chunk 3', 'commit') of the tasks a queue holds, by job."""

    waiting: dict[str, frozenset[str]]  # in the queue, for a worker to take
    # delivered to a worker and not acknowledged: running, prefetched, waiting out a retry; or an entry no
    # worker has any more (its acknowledgement lost, or never handed to the task after a broker stall)
    held: dict[str, frozenset[str]]


class JobQueue(ABC):
    """Runs jobs: Celery workers in production, a thread in this process in the embedded mode."""

    @abstractmethod
    def enqueue(self, job_id: str) -> None:
        """Schedule the job; raises `ServiceUnavailableError` when the broker cannot be reached."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stop queued work for the job as far as the queue can (chunks also check the record)."""

    def depth(self) -> int | None:
        """Tasks waiting, when the queue can tell."""
        return None

    def queued_work(self) -> QueuedWork | None:
        """The steps of the jobs' tasks in the queue, or None when the queue cannot tell (then no job is
        ever deemed stalled)."""
        return None


@dataclass(frozen=True)
class InputDescription:
    format: str  # "csv", "csv.gz" or "parquet"
    columns: tuple[str, ...]
    rows: int | None  # known for Parquet without reading it


@dataclass(frozen=True)
class ChunkRows:
    """One chunk's rows: (n, 29) scoring inputs (V1..V28, Amount) and the ids to write beside scores."""

    inputs: np.ndarray
    transaction_ids: np.ndarray | None  # object array of str, or None when the input has no such column


class BatchFiles(ABC):
    """Reads inputs (local path or s3://, CSV/CSV.gz/Parquet) and writes staged chunks, parts and outputs.
    Inputs and outputs are confined to the batch roots: whatever is outside them, missing, reached through
    a symlink or unreadable raises the one `LocationNotAllowedError` of `BatchRoots.refusal`."""

    @abstractmethod
    def describe(self, input_uri: str) -> InputDescription:
        """Cheap look at the input (existence, format, header); raises DataSourceError / InvalidDataError."""

    @abstractmethod
    def stage(self, job_id: str, input_uri: str, chunk_rows: int) -> Iterator[Chunk]:
        """Stream the input into chunk files of at most `chunk_rows` rows, in order (bounded memory)."""

    @abstractmethod
    def read_chunk(self, chunk: Chunk) -> ChunkRows: ...

    @abstractmethod
    def write_part(self, job_id: str, chunk: Chunk, columns: dict[str, np.ndarray]) -> None:
        """The chunk's scores, atomically, under a key fixed by (job, chunk): a retry overwrites it."""

    @abstractmethod
    def check_output(self, job_id: str, output_uri: str) -> None:
        """Raises `LocationNotAllowedError` when something other than this job's own output has the name:
        checked before any row is scored, as the commit checks it again before writing."""

    @abstractmethod
    def commit(self, job_id: str, chunks: tuple[Chunk, ...], output_uri: str) -> int:
        """Concatenate the parts in chunk order into `output_uri` atomically; return rows written. Nothing
        is ever replaced: an existing file or object there raises `LocationNotAllowedError`, unless it is
        this job's own output from an earlier run of the commit (then its rows are returned)."""

    @abstractmethod
    def clean(self, job_id: str) -> None:
        """Remove the job's staged chunks and parts."""
