"""The three steps of a job, each safe to run twice (a redelivered task after a worker died):

- prepare: pin the model version, stage the input as chunk files, record the plan;
- score_chunk: score one chunk into its part file, mark it done (skipped when already done or cancelled);
- commit: concatenate the parts into the output in one atomic write, record success, clean up.

Bad data fails the job with a message naming the problem and row; storage outages raise
`ServiceUnavailableError` for the queue to retry with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.run_renewal import RunRenewal
from fraud_detection.domain.decision import flagged
from fraud_detection.domain.errors import FraudDetectionError, InvalidDataError, ServiceUnavailableError
from fraud_detection.domain.features import feature_matrix
from fraud_detection.domain.jobs import (
    CANCELLED_BY_REQUEST,
    COMMIT_STEP,
    PREPARE_STEP,
    RUN_RENEW_SECONDS,
    Chunk,
    FailureKind,
    JobMark,
    JobPlan,
    JobState,
    chunk_step,
    failure_kind,
)
from fraud_detection.domain.ports.jobs import BatchFiles, ChunkRows, JobStore
from fraud_detection.domain.scoring_input import TRANSACTION_ID_COLUMN, ScoringInput

logger = logging.getLogger(__name__)
JOB_FAILED = "job %s failed: %s"  # a worker's log line; `fraud batch submit` running a job itself drops it
DEFAULT_CHUNK_ROWS = 250_000
# Runs of one step whose worker died before it ended (SIGKILL, the OOM killer) before the job fails: one is a
# replaced worker, three in a row is a step that kills its worker.
MAX_LOST_RUNS = 3
LOST_RUNS = (
    "{step}: its worker stopped {lost} times before finishing it (killed, or out of memory: see the "
    "workers' logs and FRAUD_BATCH_CHUNK_ROWS); not run again"
)


class JobSteps:
    def __init__(
        self,
        store: JobStore,
        files: BatchFiles,
        models: JobModels,
        rules: ScoringInput,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        renew_seconds: float = RUN_RENEW_SECONDS,
    ) -> None:
        """`rules`: what a row must hold to be scored (limits from settings, as the API applies them);
        `renew_seconds`: how often a running step renews its run mark."""
        self._store, self._files, self._models, self._chunk_rows = store, files, models, chunk_rows
        self._renew_seconds = renew_seconds
        self._rules = rules

    def prepare(self, job_id: str) -> JobPlan | None:
        """Returns the plan (the existing one on a rerun), or None when the job already ended."""
        status = self._store.status(job_id)
        if status.state.finished:
            return None
        with self._run(job_id, PREPARE_STEP) as allowed:
            return self._prepare(job_id) if allowed else None

    def _prepare(self, job_id: str) -> JobPlan | None:
        existing = self._store.plan(job_id)
        if existing is not None:
            return existing
        request = self._store.request(job_id)
        try:
            version, threshold = self._models.resolve(request.model)
            columns = self._files.describe(request.input_uri).columns
            self._rules.check_columns(columns, request.input_uri)
            self._files.check_output(job_id, request.output_uri)  # not after scoring every row
            chunks = tuple(self._files.stage(job_id, request.input_uri, self._chunk_rows))
            if not chunks:
                raise InvalidDataError(request.input_uri, "no rows to score")
        except ServiceUnavailableError:
            raise
        except FraudDetectionError as error:
            self.fail(job_id, error)
            return None
        plan = JobPlan(version.name, version.version, threshold, chunks, TRANSACTION_ID_COLUMN in columns)
        self._store.save_plan(job_id, plan)
        return plan

    def chunks_to_score(self, job_id: str, plan: JobPlan) -> tuple[Chunk, ...]:
        """The plan's chunks not marked done: a job queued again (a prepare redelivered after its worker
        died once its chunks were out, a job resumed) scores only those, rather than every row again."""
        done = self._store.done_chunks(job_id)
        return tuple(chunk for chunk in plan.chunks if chunk.index not in done)

    def only_commit_left(self, job_id: str) -> bool:
        """Open, planned, and every chunk scored: what a chord that failed only in the broker's bookkeeping
        (a chunk's result that Redis, stalled, could not store) leaves."""
        plan = self._store.plan(job_id)
        return (
            plan is not None
            and not self._store.status(job_id).state.finished
            and not self.chunks_to_score(job_id, plan)
        )

    def chunk_done(self, job_id: str, index: int) -> bool:
        return index in self._store.done_chunks(job_id)

    def score_chunk(self, job_id: str, index: int) -> int:
        """Rows scored (0 when skipped: done already, cancelled, or failed). A chunk done already is one
        whose task is delivered again: its acknowledgement lost with a Redis restart, or a job queued again
        while a copy of its tasks was still about."""
        snapshot = self._store.snapshot(job_id)  # each record read once: a round trip each on S3
        plan = snapshot.plan
        if snapshot.status.state.finished or plan is None or index in snapshot.done:
            return 0
        with self._run(job_id, chunk_step(index)) as allowed:
            return self._score_chunk(job_id, plan, index, snapshot.status.request.input_uri) if allowed else 0

    def _score_chunk(self, job_id: str, plan: JobPlan, index: int, input_uri: str) -> int:
        chunk = plan.chunks[index]
        try:
            rows = self._files.read_chunk(chunk)
            scores = self._score(plan, chunk, rows, input_uri)
        except ServiceUnavailableError:
            raise
        except FraudDetectionError as error:
            self.fail(job_id, error)
            return 0
        self._files.write_part(job_id, chunk, scores)
        self._store.mark_chunk_done(job_id, index, chunk.rows)
        return chunk.rows

    def commit(self, job_id: str) -> JobState:
        status = self._store.status(job_id)
        plan = self._store.plan(job_id)
        if status.state.finished or plan is None:
            if status.state is not JobState.SUCCEEDED:
                self._files.clean(job_id)
            return status.state
        if status.chunks_done < len(plan.chunks):
            missing = len(plan.chunks) - status.chunks_done
            self.fail(job_id, FraudDetectionError(f"{missing} chunk(s) were never scored"))
            return JobState.FAILED
        with self._run(job_id, COMMIT_STEP) as allowed:
            return self._commit(job_id, plan) if allowed else JobState.FAILED

    def _commit(self, job_id: str, plan: JobPlan) -> JobState:
        if self._cancelled_before_committing(job_id):
            self._store.finish(job_id, JobState.CANCELLED, CANCELLED_BY_REQUEST)
            self._files.clean(job_id)
            return JobState.CANCELLED
        written = self._files.commit(job_id, plan.chunks, self._store.request(job_id).output_uri)
        self._store.finish(job_id, JobState.SUCCEEDED)
        self._files.clean(job_id)
        logger.info(
            "job %s: %d rows scored with %s v%d", job_id, written, plan.model_name, plan.model_version
        )
        return JobState.SUCCEEDED

    @contextmanager
    def _run(self, job_id: str, step: str) -> Iterator[bool]:
        """Counts the step's runs that never ended: a worker killed by the OOM killer leaves one, and its
        task is delivered again (acknowledged late), for ever. After `MAX_LOST_RUNS` the job fails naming
        the step, and this run yields False. A run that raises (an outage to retry) has ended. While it
        runs its mark is renewed: a sweep takes a mark not renewed for `RUN_LOST_SECONDS` as a dead
        worker's."""
        token, lost = self._store.begin_run(job_id, step)
        renewal = RunRenewal(self._store, job_id, step, token, self._renew_seconds).start()
        try:
            if lost >= MAX_LOST_RUNS:
                self.fail(job_id, FraudDetectionError(LOST_RUNS.format(step=step, lost=lost)))
            yield lost < MAX_LOST_RUNS
        finally:
            renewal.stop()
            self._store.end_run(job_id, step, token)

    def _cancelled_before_committing(self, job_id: str) -> bool:
        """Marks the commit started, then looks for a cancel (`JobMark`). A rerun of a commit that had
        started goes on: a cancel arriving since then saw it and left the ending to it."""
        resumed = self._store.has_mark(job_id, JobMark.COMMITTING)
        self._store.mark(job_id, JobMark.COMMITTING)
        return not resumed and self._store.has_mark(job_id, JobMark.CANCEL_REQUESTED)

    def _score(self, plan: JobPlan, chunk: Chunk, rows: ChunkRows, source: str) -> dict[str, np.ndarray]:
        self._rules.check_inputs(rows.inputs, source, chunk.first_row)
        model = self._models.get(plan.model_version, plan.threshold)
        probabilities = model.predict_matrix(feature_matrix(rows.inputs))
        columns: dict[str, np.ndarray] = {
            "row": np.arange(chunk.first_row, chunk.first_row + chunk.rows, dtype=np.int64)
        }
        if rows.transaction_ids is not None:
            columns["transaction_id"] = rows.transaction_ids
        columns["probability"] = probabilities
        columns["decision"] = np.where(flagged(probabilities, plan.threshold), "fraud", "legit")
        columns["model_version"] = np.full(chunk.rows, plan.model_version, dtype=np.int32)
        # The decision's threshold on every row, as the API's answers carry it: the file is read without
        # the registry, whose tag may have moved since (one value: dictionary-encoded, ~nothing on disk)
        columns["threshold"] = np.full(chunk.rows, plan.threshold, dtype=np.float64)
        return columns

    def fail(self, job_id: str, error: Exception, kind: FailureKind | None = None) -> None:
        """End the job as failed with the error's message and kind (by default, the error's), and drop its
        staged data. Logged once recorded: a record that cannot be written yet is retried."""
        self._store.finish(job_id, JobState.FAILED, str(error), kind or failure_kind(error))
        logger.warning(JOB_FAILED, job_id, error)
        self._files.clean(job_id)
