"""Batch job steps in detail: the exact messages a failed job shows, the plan and part files it stores,
when staged data is cleaned, and what the worker logs."""

import logging

import numpy as np
import pytest

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.inline import run_job
from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.domain.jobs import JobState
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.validation import ValidationRules
from tests.builders import transactions
from tests.fakes import FakeBatchFiles, FakeJobQueue, FakeJobStore, FakeModel, FakeRegistry
from tests.unit.test_batch_jobs import ROOTS

STEPS_LOGGER = "fraud_detection.application.batch.steps"


class Jobs:
    """Fakes wired as in test_batch_jobs: 1,000 input rows with ids, chunks of 300 rows."""

    def __init__(self) -> None:
        self.store, self.queue, self.files, self.registry = (
            FakeJobStore(),
            FakeJobQueue(),
            FakeBatchFiles(),
            FakeRegistry(),
        )
        self.registry.uri_models["models:/1"] = FakeModel()
        self.registry.register("models:/1", "run", ModelMetadata("fe-1", 0.5, "d"))
        self.registry.set_alias(CHAMPION, 1)
        frame = transactions(1_000, fraud_rate=0.05).drop(columns=["Class"])
        frame["Amount"] = frame["Amount"] + 1.0  # strictly positive everywhere
        frame["transaction_id"] = [f"t{i}" for i in range(len(frame))]
        self.frame = frame
        self.files.inputs["/in/in.parquet"] = frame
        self.submit = SubmitScoringJob(self.store, self.queue, ROOTS)
        self.steps = JobSteps(
            self.store,
            self.files,
            JobModels(self.registry, ModelAccelerator()),
            ScoringInput.of(ValidationRules()),
            chunk_rows=300,
        )
        self.control = JobControl(self.store, self.queue, self.files)

    def job_on(self, frame, job_id: str) -> str:
        self.files.inputs[f"/in/{job_id}.parquet"] = frame
        self.submit(f"/in/{job_id}.parquet", f"/out/{job_id}-out.parquet", job_id=job_id)
        return job_id


@pytest.fixture
def jobs() -> Jobs:
    return Jobs()


def test_the_plan_pins_the_models_name_version_threshold_and_knows_the_ids_column(jobs):
    """Every chunk is scored with what the plan pinned, and the output keeps the client's ids."""
    jobs.submit("/in/in.parquet", "/out/out.parquet", job_id="plan")
    plan = jobs.steps.prepare("plan")
    assert (plan.model_name, plan.model_version, plan.threshold) == ("fake-model", 1, 0.5)
    assert plan.has_transaction_id is True
    assert [(c.index, c.rows, c.first_row) for c in plan.chunks] == [
        (0, 300, 0),
        (1, 300, 300),
        (2, 300, 600),
        (3, 100, 900),
    ]
    assert jobs.store.plan("plan") == plan


def test_an_input_without_ids_is_planned_and_written_without_them(jobs):
    job = jobs.job_on(jobs.frame.drop(columns=["transaction_id"]), "no-ids")
    assert jobs.steps.prepare(job).has_transaction_id is False
    assert run_job(jobs.steps, job) is JobState.SUCCEEDED
    assert list(jobs.files.outputs["/out/no-ids-out.parquet"].columns) == [
        "row",
        "probability",
        "decision",
        "model_version",
        "threshold",
    ]


def test_a_part_file_holds_row_numbers_ids_probabilities_decisions_and_the_version_in_order(jobs):
    """The part of chunk 1 starts at input row 300; model_version is stored as int32."""
    jobs.submit("/in/in.parquet", "/out/out.parquet", job_id="parts")
    jobs.steps.prepare("parts")
    assert jobs.steps.score_chunk("parts", 1) == 300
    part = jobs.files.parts[("parts", 1)]
    assert list(part) == ["row", "transaction_id", "probability", "decision", "model_version", "threshold"]
    assert part["row"].tolist() == list(range(300, 600))
    assert part["row"].dtype == np.int64
    assert part["transaction_id"].tolist() == [f"t{i}" for i in range(300, 600)]
    expected = 1 / (1 + np.exp(jobs.frame["V14"].to_numpy()[300:600]))
    np.testing.assert_allclose(part["probability"], expected, rtol=1e-12)
    assert part["decision"].tolist() == np.where(expected >= 0.5, "fraud", "legit").tolist()
    assert part["model_version"].dtype == np.int32
    assert part["model_version"].tolist() == [1] * 300
    assert jobs.store.done["parts"] == {1: 300}


def test_bad_columns_fail_with_a_message_naming_the_input(jobs):
    job = jobs.job_on(jobs.frame.drop(columns=["V3"]), "cols")
    assert jobs.steps.prepare(job) is None
    assert jobs.control.status(job).error == "/in/cols.parquet: column 'V3': missing columns ['V3']"


def test_an_input_with_no_rows_fails_the_job_saying_so(jobs):
    job = jobs.job_on(jobs.frame.iloc[:0], "empty")
    assert jobs.steps.prepare(job) is None
    status = jobs.control.status(job)
    assert (status.state, status.error) == (JobState.FAILED, "/in/empty.parquet: no rows to score")
    assert jobs.files.cleaned == ["empty"]
    assert jobs.store.plan(job) is None


def test_a_non_finite_value_names_its_column_and_input_row(jobs):
    frame = jobs.frame.copy()
    frame.loc[650, "V5"] = np.inf
    job = jobs.job_on(frame, "inf")
    jobs.steps.prepare(job)
    assert jobs.steps.score_chunk(job, 2) == 0  # failed: nothing scored
    error = jobs.control.status(job).error
    assert error == "/in/inf.parquet: column 'V5' row 651: missing or non-finite value"
    assert jobs.files.cleaned == ["inf"]
    assert ("inf", 2) not in jobs.files.parts


def test_a_negative_amount_names_the_input_the_first_such_row_and_amount(jobs):
    """Rows 450 and 500 (chunk 1, which starts at row 300) are negative: the first one is reported,
    counted from 1 in the whole input."""
    frame = jobs.frame.copy()
    frame.loc[[450, 500], "Amount"] = [-1.0, -2.0]
    job = jobs.job_on(frame, "neg")
    jobs.steps.prepare(job)
    assert jobs.steps.score_chunk(job, 0) == 300
    assert jobs.steps.score_chunk(job, 1) == 0
    status = jobs.control.status(job)
    assert status.state is JobState.FAILED
    assert status.error == "/in/neg.parquet: column 'Amount' row 451: negative value"
    assert jobs.steps.score_chunk(job, 2) == 0  # the job has ended: later chunks are skipped


def test_a_negative_amount_in_the_first_row_of_a_chunk(jobs):
    frame = jobs.frame.copy()
    frame.loc[300, "Amount"] = -0.01
    job = jobs.job_on(frame, "neg0")
    assert run_job(jobs.steps, job) is JobState.FAILED
    assert jobs.control.status(job).error == "/in/neg0.parquet: column 'Amount' row 301: negative value"


def test_an_amount_of_zero_is_valid(jobs):
    frame = jobs.frame.copy()
    frame.loc[[0, 999], "Amount"] = 0.0
    job = jobs.job_on(frame, "zero")
    assert run_job(jobs.steps, job) is JobState.SUCCEEDED
    assert len(jobs.files.outputs["/out/zero-out.parquet"]) == 1_000


def test_a_successful_job_is_cleaned_once_and_a_repeated_commit_does_not_clean_its_output_away(jobs):
    jobs.submit("/in/in.parquet", "/out/out.parquet", job_id="ok")
    assert run_job(jobs.steps, "ok") is JobState.SUCCEEDED
    assert jobs.files.cleaned == ["ok"]
    assert jobs.steps.commit("ok") is JobState.SUCCEEDED
    assert jobs.files.cleaned == ["ok"]


def test_a_redelivered_commit_of_a_cancelled_job_cleans_up_again(jobs):
    """A chunk may have written a part after the cancel's own clean-up: the commit removes it."""
    jobs.submit("/in/in.parquet", "/out/out.parquet", job_id="cx")
    jobs.steps.prepare("cx")
    jobs.control.cancel("cx")
    assert jobs.files.cleaned == ["cx"]
    assert jobs.steps.commit("cx") is JobState.CANCELLED
    assert jobs.files.cleaned == ["cx", "cx"]


def test_a_commit_before_any_plan_cleans_and_reports_the_state(jobs):
    jobs.submit("/in/in.parquet", "/out/out.parquet", job_id="early")
    assert jobs.steps.commit("early") is JobState.QUEUED
    assert jobs.files.cleaned == ["early"]
    assert jobs.files.outputs == {}


def test_the_worker_logs_the_rows_written_and_the_model(jobs, caplog):
    caplog.set_level(logging.INFO, logger=STEPS_LOGGER)
    jobs.submit("/in/in.parquet", "/out/out.parquet", job_id="logged")
    assert run_job(jobs.steps, "logged") is JobState.SUCCEEDED
    messages = [r.getMessage() for r in caplog.records if r.name == STEPS_LOGGER]
    assert messages == ["job logged: 1000 rows scored with fake-model v1"]


def test_a_failure_is_logged_with_the_job_and_its_error(jobs, caplog):
    caplog.set_level(logging.INFO, logger=STEPS_LOGGER)
    job = jobs.job_on(jobs.frame.iloc[:0], "quiet")
    jobs.steps.prepare(job)
    records = [r for r in caplog.records if r.name == STEPS_LOGGER]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, "job quiet failed: /in/quiet.parquet: no rows to score")
    ]
