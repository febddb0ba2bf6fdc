"""Batch scoring jobs: what was asked, how it was split, and where it stands."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from fraud_detection.domain.clients import NAME, NAMESPACE_SEPARATOR
from fraud_detection.domain.errors import (
    DataSourceError,
    IncompatibleModelError,
    InvalidDataError,
    ModelNotFoundError,
    ObjectNotFoundError,
    ServiceUnavailableError,
)

JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
JOB_ID_RULE = "1-64 letters, digits, '.', '_' or '-', the first a letter or digit"
# An id as recorded: an API client's job is kept under its namespace (`acme:day-1`), so every namespace has
# its own ids (a taken id told a client that another namespace had used it); an operator's keeps its id.
STORED_JOB_ID = re.compile(
    rf"^(?:{NAME.pattern.strip('^$')}{NAMESPACE_SEPARATOR})?{JOB_ID.pattern.strip('^$')}$"
)
OUTPUT_SUFFIX = ".parquet"


# A job's owner: the namespace of the API client that submitted it, or OPERATOR for one submitted through the
# CLI (no client namespace is empty: domain/clients.py NAME). None: recorded before jobs had owners.
OPERATOR = ""


@dataclass(frozen=True)
class JobViewer:
    """An API client asking about a job. Jobs are private to their submitter's namespace: any `jobs` client
    could read (paths, row counts) and cancel every other client's job, whose ids are often guessable
    (`acme-2024-05-01`). A client with `admin` sees all; a job recorded before owners were is seen by every
    `jobs` client, as it was when submitted."""

    namespace: str
    admin: bool = False

    def sees(self, owner: str | None) -> bool:
        return self.admin or owner is None or owner == self.namespace

    def candidates(self, job_id: str) -> tuple[str, ...]:
        """The recorded ids an id this client gives may name, in order: its namespace's job, then the id as
        recorded (an operator's job or one from before namespaced ids; `ns:id`, as an admin names another
        namespace's job). Whether the client may see it is `sees`' answer."""
        if NAMESPACE_SEPARATOR in job_id:
            return (job_id,)
        return (stored_job_id(self.namespace, job_id), job_id)

    def shown(self, stored_id: str) -> str:
        """A recorded id as this client names it: its namespace's jobs without the prefix."""
        return stored_id.removeprefix(f"{self.namespace}{NAMESPACE_SEPARATOR}")


def stored_job_id(owner: str, job_id: str) -> str:
    """The id recorded for a job submitted by `owner` under the id it gave."""
    return job_id if owner == OPERATOR else f"{owner}{NAMESPACE_SEPARATOR}{job_id}"


def new_job_id() -> str:
    """A job id for a submitter that gave none: 16 hex digits of a random UUID."""
    return uuid.uuid4().hex[:16]


NAME_MAX_BYTES = 255  # one file name on Linux and macOS file systems (an S3 key has no such part)


def output_name_problem(uri: str) -> str | None:
    """Results are always Parquet: a job told to write `scores.csv` would leave Parquet bytes under a CSV
    name for whatever reads it next. A local name the file system cannot hold failed the job only once
    every row was scored."""
    if not uri.lower().endswith(OUTPUT_SUFFIX):
        return f"'{uri}' does not end in {OUTPUT_SUFFIX}: results are written as Parquet"
    name = uri.rsplit("/", 1)[-1].encode()
    if name.lower() == OUTPUT_SUFFIX.encode():  # a hidden file, listed by no `ls`
        return f"'{uri}' names no file: {OUTPUT_SUFFIX} is only the suffix (scores{OUTPUT_SUFFIX}, say)"
    if not uri.startswith("s3://") and len(name) > NAME_MAX_BYTES:
        return f"the file name is {len(name)} bytes, more than a file system holds ({NAME_MAX_BYTES})"
    return None


# A job's steps as its records and its queue's tasks name them: one run of "prepare", "chunk 3", "commit".
PREPARE_STEP, COMMIT_STEP = "prepare", "commit"


def chunk_step(index: int) -> str:
    return f"chunk {index}"


# A step's run renews its mark while it runs; a mark not renewed for RUN_LOST_SECONDS (the default of
# FRAUD_BATCH_RUN_LOST_SECONDS) is a run whose worker died (SIGKILL, the OOM killer, its host gone). Without
# it a killed worker's mark, with its task still held by Redis, read as a chunk being scored: the job sat
# `running` for the visibility timeout, an hour. Five renewals' margin: a busy worker's renewal thread may
# wait for the GIL, or a slow store, a while.
RUN_LOST_SECONDS = 300.0
RENEWALS_PER_LOST = 5
RUN_RENEW_SECONDS = RUN_LOST_SECONDS / RENEWALS_PER_LOST


# How a job's step rides out a storage, registry or broker outage, on the workers (Celery's retry_backoff)
# and in the embedded queue alike: waits of 1, 2, 4, ... s, capped at 60 s and jittered (each drawn in
# [0, wait]), 12 times: an outage of ~3.5 min on average, 7 at most. With 5, a real stack's S3 down for
# ~15 s failed the job (and, S3 still down, its failure could not even be recorded).
OUTAGE_RETRIES = 12
OUTAGE_WAIT_MAX_SECONDS = 60


def outage_wait_bound(retry: int) -> float:
    """The longest wait before retry number `retry` (0 for the first): the jittered wait is drawn below it."""
    return float(min(OUTAGE_WAIT_MAX_SECONDS, 2**retry))


class FailureKind(StrEnum):
    """Why a job failed, so that a caller knows whether running it again can help (CLI: exit 2 or 1)."""

    INPUT = "input"  # the request or its data (bad rows, a missing file, an unknown model): fix them first
    SERVICE = "service"  # storage, registry or broker out past the retries: run it again later
    INTERNAL = "internal"  # lost runs, an unexpected error: see the worker logs


# Errors that name something wrong with the request or its data (a missing or bad file, an unknown model).
_INPUT_ERRORS = (
    InvalidDataError,
    DataSourceError,
    ObjectNotFoundError,
    ModelNotFoundError,
    IncompatibleModelError,
)


def failure_kind(error: BaseException) -> FailureKind:
    """The kind of a job's failure, told by its error's type; anything unforeseen is internal."""
    if isinstance(error, ServiceUnavailableError):
        return FailureKind.SERVICE
    if isinstance(error, _INPUT_ERRORS):
        return FailureKind.INPUT
    return FailureKind.INTERNAL


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class JobMark(StrEnum):
    """Marks that settle a cancel racing the commit. Each side writes its own mark, then reads the other's,
    so at least one of them sees the other: the commit aborts on a cancel it sees, a cancel that sees the
    commit started leaves the ending to it. Without them a cancel during the commit answered "cancelled"
    while the output was published anyway."""

    CANCEL_REQUESTED = "cancel-requested"
    COMMITTING = "committing"


CANCELLED_BY_REQUEST = "cancelled by request"


@dataclass(frozen=True)
class JobRequest:
    """What a client submitted. `model` is an alias ('champion') or a version number as text."""

    job_id: str
    input_uri: str
    output_uri: str
    model: str
    submitted_at: str


@dataclass(frozen=True)
class Chunk:
    """A slice of the input scored by one task. `key` is its staged file in the work store; when
    `row_groups` is set, the chunk is instead those row groups of the Parquet input, read in place, and
    `key` is the input's URI (never the job's to delete)."""

    index: int
    key: str
    rows: int
    first_row: int  # row number of the chunk's first row in the input (for error messages and row ids)
    row_groups: tuple[int, ...] = ()
    # The input read in place as planned (a digest of its Parquet footer): a file replaced by another with
    # the same row counts per group would otherwise be scored in part, and the job report success.
    input_fingerprint: str = ""


@dataclass(frozen=True)
class JobPlan:
    """Fixed before any chunk is scored: every chunk uses the same model version."""

    model_name: str
    model_version: int
    threshold: float
    chunks: tuple[Chunk, ...]
    has_transaction_id: bool

    @property
    def rows(self) -> int:
        return sum(chunk.rows for chunk in self.chunks)


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: JobState
    request: JobRequest
    rows_total: int | None = None
    rows_scored: int = 0
    chunks_total: int | None = None
    chunks_done: int = 0
    model_version: int | None = None
    error: str | None = None
    updated_at: str | None = None
    threshold: float | None = None  # the pinned version's: `decision` is fraud at or above it
    extra: dict[str, str] = field(default_factory=dict)
    error_kind: FailureKind | None = None  # a failed job's; None for one recorded before kinds existed

    @property
    def progress(self) -> float:
        return self.rows_scored / self.rows_total if self.rows_total else 0.0


@dataclass(frozen=True)
class JobSnapshot:
    """A job's status with the plan and the done chunks it was derived from: what a chunk task needs, in
    one read of each record (on S3, a round trip each, for every chunk of every job)."""

    status: JobStatus
    plan: JobPlan | None
    done: frozenset[int]
