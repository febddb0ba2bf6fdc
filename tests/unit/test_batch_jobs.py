"""Batch scoring use cases on fakes: submit (fail fast, undo on broker outage), steps, reruns, cancel."""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.inline import run_job
from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.steps import MAX_LOST_RUNS, JobSteps
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.domain.batch_roots import BatchRoots
from fraud_detection.domain.errors import (
    DataSourceError,
    FraudDetectionError,
    InvalidDataError,
    JobBusyError,
    JobExistsError,
    JobNotFoundError,
    LocationNotAllowedError,
    ModelNotFoundError,
    ServiceUnavailableError,
)
from fraud_detection.domain.features import SCORING_INPUTS, feature_matrix
from fraud_detection.domain.jobs import FailureKind, JobMark, JobRequest, JobState, JobViewer, failure_kind
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.validation import ValidationRules
from tests.builders import transactions
from tests.fakes import FakeBatchFiles, FakeJobQueue, FakeJobStore, FakeModel, FakeRegistry

ROOTS = BatchRoots(("/in",), ("/out",))


class Batch:
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
        frame["transaction_id"] = [f"t{i}" for i in range(len(frame))]
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


@pytest.fixture
def batch() -> Batch:
    return Batch()


def test_namespace_folders_confine_an_api_clients_job_and_not_an_operators(batch):
    confined = SubmitScoringJob(batch.store, batch.queue, ROOTS, namespace_folders=True)
    status = confined("/in/acme/day.parquet", "/out/acme/s.parquet", job_id="mine", owner="acme")
    assert (status.request.input_uri, status.request.output_uri) == (
        "/in/acme/day.parquet",
        "/out/acme/s.parquet",
    )
    refused = [
        ("/in/evil/day.parquet", "/out/acme/t.parquet"),  # another namespace's input
        ("/in/acme/day.parquet", "/out/t.parquet"),  # an output outside its folder
    ]
    for source, target in refused:
        with pytest.raises(LocationNotAllowedError, match="namespace 'acme''s"):
            confined(source, target, job_id="theirs", owner="acme")
    assert batch.store.owners == {"acme:mine": "acme"}  # nothing recorded for the refused ones
    confined("/in/evil/day.parquet", "/out/op.parquet", job_id="ops")  # an operator's: anywhere
    # Off (the default): a namespace names anything under the roots, as before.
    batch.submit("/in/evil/day.parquet", "/out/u.parquet", job_id="open", owner="acme")
    assert batch.store.owners == {"acme:mine": "acme", "ops": "", "acme:open": "acme"}


def test_a_job_runs_to_one_output_in_input_order(batch):
    status = batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-1")
    assert status.state is JobState.QUEUED
    assert batch.queue.enqueued == ["job-1"]
    assert run_job(batch.steps, "job-1") is JobState.SUCCEEDED
    output = batch.files.outputs["/out/out.parquet"]
    assert len(output) == 1_000
    assert output["row"].tolist() == list(range(1_000))
    assert output["transaction_id"].tolist()[:2] == ["t0", "t1"]
    assert set(output["decision"]) <= {"fraud", "legit"}
    assert (output["model_version"] == 1).all()
    assert (
        output["threshold"] == 0.5
    ).all()  # the file says what `decision` was cut at, without the registry
    final = batch.control.status("job-1")
    assert final.threshold == 0.5
    assert (final.state, final.rows_scored, final.chunks_done, final.chunks_total) == (
        JobState.SUCCEEDED,
        1_000,
        4,
        4,
    )
    assert "job-1" in batch.files.cleaned


def test_a_rerun_step_does_not_duplicate_work(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-2")
    first_plan = batch.steps.prepare("job-2")
    assert batch.steps.prepare("job-2") == first_plan  # redelivered: the same plan, nothing restaged
    assert batch.steps.score_chunk("job-2", 0) == 300
    part = batch.files.parts[("job-2", 0)]
    assert batch.steps.score_chunk("job-2", 0) == 0  # delivered again: skipped, its part kept
    assert batch.files.parts[("job-2", 0)] is part
    for chunk in first_plan.chunks[1:]:
        batch.steps.score_chunk("job-2", chunk.index)
    batch.steps.commit("job-2")
    assert batch.steps.commit("job-2") is JobState.SUCCEEDED
    assert len(batch.files.outputs["/out/out.parquet"]) == 1_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["V3"]), "missing columns \\['V3'\\]"),
        (lambda f: f.assign(colour="red"), "unexpected columns \\['colour'\\]"),
    ],
)
def test_bad_columns_fail_the_job_at_once_with_the_problem(batch, change, message):
    batch.files.inputs["/in/bad.parquet"] = change(batch.files.inputs["/in/in.parquet"])
    batch.submit("/in/bad.parquet", "/out/out.parquet", job_id="bad-1")
    assert run_job(batch.steps, "bad-1") is JobState.FAILED
    assert re.search(message, batch.control.status("bad-1").error)
    assert batch.files.outputs == {}


def test_missing_input_fails_the_job_naming_it(batch):
    batch.submit("/in/nope.csv", "/out/out.parquet", job_id="missing-1")
    assert batch.steps.prepare("missing-1") is None
    status = batch.control.status("missing-1")
    assert status.state is JobState.FAILED
    assert "/in/nope.csv" in status.error


def test_broker_down_at_submit_leaves_no_record(batch):
    batch.queue.down = True
    with pytest.raises(ServiceUnavailableError):
        batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-3")
    assert batch.store.requests == {}


def test_bad_values_fail_the_job_naming_row_and_column_and_write_no_output(batch):
    frame = batch.files.inputs["/in/in.parquet"].copy()
    frame.loc[650, "V5"] = np.nan
    batch.files.inputs["/in/nan.parquet"] = frame
    batch.submit("/in/nan.parquet", "/out/out.parquet", job_id="job-4")
    assert run_job(batch.steps, "job-4") is JobState.FAILED
    status = batch.control.status("job-4")
    assert status.state is JobState.FAILED
    assert "column 'V5' row 651" in status.error
    assert "/out/out.parquet" not in batch.files.outputs


def test_cancel_stops_the_job_before_commit(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-5")
    plan = batch.steps.prepare("job-5")
    batch.steps.score_chunk("job-5", 0)
    assert batch.control.cancel("job-5").state is JobState.CANCELLED
    assert batch.queue.cancelled == ["job-5"]
    assert batch.steps.score_chunk("job-5", plan.chunks[1].index) == 0
    assert batch.steps.commit("job-5") is JobState.CANCELLED
    assert "/out/out.parquet" not in batch.files.outputs


def test_resume_queues_an_unfinished_job_again_and_it_finishes_once(batch):
    """Its queued tasks lost (Redis restarted without persistence), a job stayed running for ever."""
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="lost-1")
    batch.steps.prepare("lost-1")
    batch.steps.score_chunk("lost-1", 0)  # then the broker lost the rest
    assert batch.control.resume("lost-1").state is JobState.RUNNING
    assert batch.queue.enqueued == ["lost-1", "lost-1"]
    assert run_job(batch.steps, "lost-1") is JobState.SUCCEEDED  # what the queued steps do
    assert len(batch.files.outputs["/out/out.parquet"]) == 1_000
    assert batch.control.resume("lost-1").state is JobState.SUCCEEDED
    assert batch.queue.enqueued == ["lost-1", "lost-1"]  # a finished job is left as it ended


def test_resume_refuses_a_job_whose_step_is_running_unless_forced(batch):
    """`fraud batch resume` of a job a worker was scoring queued it again: its work was done twice."""
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="busy-1")
    batch.steps.prepare("busy-1")
    batch.store.begin_run("busy-1", "chunk 1")  # a worker scores chunk 1 now
    busy = r"busy-1 is being worked on: its step 'chunk 1' renewed its run mark 0 s ago"
    with pytest.raises(JobBusyError, match=busy):
        batch.control.resume("busy-1")
    assert batch.queue.enqueued == ["busy-1"]  # the submit's only
    assert batch.control.resume("busy-1", force=True).state is JobState.RUNNING
    assert batch.queue.enqueued == ["busy-1", "busy-1"]


def test_resume_takes_a_run_mark_not_renewed_for_the_lost_time_as_a_dead_workers(batch):
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    batch.store.now = lambda: now - timedelta(seconds=301)  # the run began, then its worker was SIGKILLed
    control = JobControl(batch.store, batch.queue, batch.files, run_lost_seconds=300, clock=lambda: now)
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="dead-1")
    batch.steps.prepare("dead-1")
    batch.store.begin_run("dead-1", "chunk 0")
    assert control.resume("dead-1").state is JobState.RUNNING
    assert batch.queue.enqueued == ["dead-1", "dead-1"]


def test_resume_refuses_a_job_whose_tasks_wait_in_the_queue(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="waiting-1")
    batch.queue.work = {"waiting-1": frozenset({"chunk 0", "chunk 1", "chunk 2", "chunk 3"})}
    waiting = r"4 task\(s\) waiting in the queue \(chunk 0, chunk 1, chunk 2, \.\.\.\)"
    with pytest.raises(JobBusyError, match=waiting):
        batch.control.resume("waiting-1")
    batch.queue.work = None  # Redis cannot tell: the enqueue decides (it fails on the same outage)
    assert batch.control.resume("waiting-1").state is JobState.QUEUED
    assert batch.queue.enqueued == ["waiting-1", "waiting-1"]


def scored(batch: Batch, job_id: str) -> None:
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id=job_id)
    for chunk in batch.steps.prepare(job_id).chunks:
        batch.steps.score_chunk(job_id, chunk.index)


def test_a_cancel_while_the_output_is_written_leaves_the_ending_to_the_commit(batch, monkeypatch):
    """It answered "cancelled" while the commit went on to publish the whole output."""
    scored(batch, "job-c1")
    answers = []
    write = batch.files.commit

    def cancelled_meanwhile(job_id, chunks, output_uri):
        answers.append(batch.control.cancel(job_id))
        return write(job_id, chunks, output_uri)

    monkeypatch.setattr(batch.files, "commit", cancelled_meanwhile)
    assert batch.steps.commit("job-c1") is JobState.SUCCEEDED
    assert answers[0].state is JobState.RUNNING  # not "cancelled": the commit decides
    assert batch.queue.cancelled == []
    assert batch.control.status("job-c1").state is JobState.SUCCEEDED
    assert "/out/out.parquet" in batch.files.outputs


def test_a_commit_that_sees_a_cancel_request_writes_nothing(batch):
    """The cancel wrote its request, then saw the commit's mark and left it to the commit."""
    scored(batch, "job-c2")
    batch.store.mark("job-c2", JobMark.CANCEL_REQUESTED)
    assert batch.steps.commit("job-c2") is JobState.CANCELLED
    assert "/out/out.parquet" not in batch.files.outputs
    assert batch.control.status("job-c2").error == "cancelled by request"
    assert batch.steps.commit("job-c2") is JobState.CANCELLED  # a redelivered commit too


def test_a_rerun_commit_that_had_started_goes_on_past_a_later_cancel(batch):
    """The first run marked the commit started and died; a cancel since then saw the mark and withdrew."""
    scored(batch, "job-c3")
    batch.store.mark("job-c3", JobMark.COMMITTING)
    assert batch.control.cancel("job-c3").state is JobState.RUNNING
    assert batch.steps.commit("job-c3") is JobState.SUCCEEDED
    assert "/out/out.parquet" in batch.files.outputs


def lose_runs(batch: Batch, job_id: str, step: str, times: int) -> None:
    """Runs of `step` whose worker was killed: begun, never ended."""
    for _ in range(times):
        batch.store.begin_run(job_id, step)


def test_a_step_that_keeps_killing_its_worker_fails_the_job_naming_it(batch):
    """A chunk that got its worker OOM-killed was delivered again for ever, the job "running" throughout."""
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-k1")
    batch.steps.prepare("job-k1")
    lose_runs(batch, "job-k1", "chunk 1", MAX_LOST_RUNS)
    assert batch.steps.score_chunk("job-k1", 1) == 0
    status = batch.control.status("job-k1")
    assert status.state is JobState.FAILED
    assert status.error.startswith(f"chunk 1: its worker stopped {MAX_LOST_RUNS} times before finishing it")
    assert batch.files.cleaned == ["job-k1"]
    assert batch.steps.commit("job-k1") is JobState.FAILED
    assert "/out/out.parquet" not in batch.files.outputs


@pytest.mark.parametrize("step", ["prepare", "commit"])
def test_prepare_and_commit_are_bounded_the_same_way(batch, step):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-k2")
    if step == "commit":
        for chunk in batch.steps.prepare("job-k2").chunks:
            batch.steps.score_chunk("job-k2", chunk.index)
    lose_runs(batch, "job-k2", step, MAX_LOST_RUNS)
    assert run_job(batch.steps, "job-k2") is JobState.FAILED
    assert batch.control.status("job-k2").error.startswith(f"{step}: its worker stopped")


def test_a_replaced_worker_or_a_retried_outage_is_not_a_lost_run(batch, monkeypatch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-k3")
    batch.steps.prepare("job-k3")
    lose_runs(batch, "job-k3", "chunk 0", MAX_LOST_RUNS - 1)  # e.g. workers replaced by deploys
    read = batch.files.read_chunk
    outages = iter(range(MAX_LOST_RUNS + 1))

    def flaky(chunk):
        if next(outages, None) is not None:
            raise ServiceUnavailableError("storage down")
        return read(chunk)

    monkeypatch.setattr(batch.files, "read_chunk", flaky)
    for _ in range(MAX_LOST_RUNS + 1):  # each raised run ended: not counted
        with pytest.raises(ServiceUnavailableError):
            batch.steps.score_chunk("job-k3", 0)
    assert batch.steps.score_chunk("job-k3", 0) == 300
    assert batch.control.status("job-k3").state is JobState.RUNNING


def test_a_job_whose_prepare_started_is_running(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-k4")
    assert batch.control.status("job-k4").state is JobState.QUEUED
    batch.store.begin_run("job-k4", "prepare")  # staging a large input: minutes
    assert batch.control.status("job-k4").state is JobState.RUNNING


def test_unknown_alias_fails_the_job(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", model="canary", job_id="job-6")
    assert batch.steps.prepare("job-6") is None
    assert "alias 'canary'" in batch.control.status("job-6").error


@pytest.mark.parametrize("model", ["²", "1²"])  # digits to str.isdigit, not to int()
def test_a_model_of_digits_that_are_no_number_fails_the_job_as_input(batch, model):
    """Before, int() raised ValueError: the job failed as `internal` ("unexpected ValueError")."""
    batch.submit("/in/in.parquet", "/out/out.parquet", model=model, job_id="sup")
    assert batch.steps.prepare("sup") is None
    status = batch.control.status("sup")
    assert status.error_kind is FailureKind.INPUT
    assert status.error == f"no model version has the alias '{model}'"


@pytest.mark.parametrize(
    ("model", "error"),
    [("9223372036854775808", "no model version 9223372036854775808"),  # was `internal`: SQLite's overflow
     ("2147483648", "no model version 2147483648"),
     ("\uff11", "no model version has the alias '\uff11'")],  # a full-width 1 served version 1
    ids=["2**63", "2**31", "full-width-digit"],
)  # fmt: skip
def test_a_version_past_the_registrys_numbers_or_in_other_digits_fails_the_job_as_input(batch, model, error):
    batch.submit("/in/in.parquet", "/out/out.parquet", model=model, job_id="big")
    assert batch.steps.prepare("big") is None
    status = batch.control.status("big")
    assert (status.error_kind, status.error) == (FailureKind.INPUT, error)


def test_job_ids_are_checked(batch):
    with pytest.raises(InvalidDataError, match="job_id"):
        batch.submit("/in/in.parquet", "/out/out.parquet", job_id="../etc")


class AmountModel(FakeModel):
    """Scores on the model's own `log_amount` feature: raw inputs given as features would score otherwise."""

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        log_amount = features[:, self.feature_names.index("log_amount")]
        return np.asarray(1 / (1 + np.exp(-(log_amount - 3.0))))


def staged_once(batch: Batch) -> list[str]:
    """Record every staging of the fake files (a redelivered prepare must not stage again)."""
    calls: list[str] = []
    stage = batch.files.stage

    def counting(job_id, input_uri, chunk_rows):
        calls.append(job_id)
        return stage(job_id, input_uri, chunk_rows)

    batch.files.stage = counting
    return calls


def test_a_redelivered_prepare_keeps_the_plan_and_stages_nothing_again(batch):
    calls = staged_once(batch)
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-r")
    plan = batch.steps.prepare("job-r")
    assert batch.steps.prepare("job-r") is not None
    assert batch.store.plan("job-r") == plan
    assert calls == ["job-r"]


def test_commit_with_a_chunk_never_scored_fails_and_writes_nothing(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-m")
    plan = batch.steps.prepare("job-m")
    for chunk in plan.chunks[:-1]:
        batch.steps.score_chunk("job-m", chunk.index)
    assert batch.steps.commit("job-m") is JobState.FAILED
    status = batch.control.status("job-m")
    assert status.error == "1 chunk(s) were never scored"
    assert "/out/out.parquet" not in batch.files.outputs


def test_a_storage_failure_at_commit_records_nothing_and_the_retry_commits_once(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="job-c")
    plan = batch.steps.prepare("job-c")
    for chunk in plan.chunks:
        batch.steps.score_chunk("job-c", chunk.index)
    commit, attempts = batch.files.commit, []

    def flaky(job_id, chunks, output_uri):
        attempts.append(job_id)
        if len(attempts) == 1:
            raise ServiceUnavailableError("object store unreachable")
        return commit(job_id, chunks, output_uri)

    batch.files.commit = flaky
    with pytest.raises(ServiceUnavailableError):
        batch.steps.commit("job-c")
    assert batch.control.status("job-c").state is JobState.RUNNING  # not SUCCEEDED without an output
    assert "job-c" not in batch.files.cleaned  # the parts are still there for the retry
    assert batch.steps.commit("job-c") is JobState.SUCCEEDED
    assert batch.steps.commit("job-c") is JobState.SUCCEEDED  # a duplicate delivery commits nothing more
    assert len(attempts) == 2
    assert len(batch.files.outputs["/out/out.parquet"]) == 1_000


def test_a_row_scored_exactly_at_the_threshold_is_fraud_in_batch_as_online(batch):
    frame = batch.files.inputs["/in/in.parquet"].head(3).copy()
    frame["V14"] = [0.0, 1e-9, -1e-9]  # the fake model scores 0.5, just under and just over
    batch.files.inputs["/in/edge.parquet"] = frame
    batch.submit("/in/edge.parquet", "/out/edge-out.parquet", job_id="edge")
    assert run_job(batch.steps, "edge") is JobState.SUCCEEDED
    output = batch.files.outputs["/out/edge-out.parquet"]
    assert output["probability"].tolist()[0] == 0.5
    assert output["decision"].tolist() == ["fraud", "legit", "fraud"]


def test_a_threshold_tag_edited_between_planning_and_scoring_fails_the_job_unscored(batch):
    """The plan takes the threshold from the registry's tags; the model is checked against its artifact
    when a chunk loads it. A threshold other than the one that load checked is refused, also when this
    process loaded the version for an earlier job (it is not checked again)."""
    batch.submit("/in/in.parquet", "/out/first.parquet", job_id="first")
    assert run_job(batch.steps, "first") is JobState.SUCCEEDED  # v1 loaded, at threshold 0.5
    stored = batch.registry.versions[1]
    batch.registry.versions[1] = replace(stored, metadata=replace(stored.metadata, threshold=1.0))
    batch.submit("/in/in.parquet", "/out/edited.parquet", job_id="edited")

    assert run_job(batch.steps, "edited") is JobState.FAILED
    status = batch.control.status("edited")
    assert status.error == (
        "v1's threshold was 1.0 in the registry when the job was planned, 0.5 in its artifact: a tag was "
        "edited; the job is not scored (set the tag back, then submit the job again)"
    )
    assert "/out/edited.parquet" not in batch.files.outputs


def test_batch_scores_the_models_features_not_the_raw_inputs(batch):
    model = AmountModel()
    batch.registry.uri_models["models:/2"] = model
    batch.registry.register("models:/2", "run", ModelMetadata("fe-1", 0.5, "d"))
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="features", model="2")
    assert run_job(batch.steps, "features") is JobState.SUCCEEDED
    frame = batch.files.inputs["/in/in.parquet"]
    expected = model.predict_matrix(feature_matrix(frame[list(SCORING_INPUTS)].to_numpy(dtype=np.float64)))
    np.testing.assert_allclose(
        batch.files.outputs["/out/out.parquet"]["probability"], expected, rtol=0, atol=0
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("/in/in.parquet", "/tmp/x"),  # attack: overwrite any file the process can reach
        ("/in/in.parquet", "/home/app/.fraud/mlflow.db"),  # attack: the registry's database
        ("/in/in.parquet", "/home/app/.fraud/store/jobs/job-1/outcome.json"),  # attack: a job's outcome
        ("/in/in.parquet", "/out/../home/app/.fraud/serving/served-model.json"),  # attack: `..` escape
        ("/in/in.parquet", "s3://other-bucket/anything.parquet"),  # attack: S3 outside the roots
        ("/etc/passwd", "/out/x.parquet"),  # attack: read any file
        ("in.parquet", "/out/x.parquet"),  # relative: the CLI resolves it first; the API must not guess
    ],
)
def test_a_job_outside_the_roots_is_refused_at_submit_and_nothing_is_recorded(batch, source, target):
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        batch.submit(source, target, job_id="attack")
    assert batch.store.requests == {}
    assert batch.queue.enqueued == []


def test_the_refusal_of_an_input_is_the_same_whether_it_exists_or_not(batch):
    """No existence oracle: a real file outside the roots and a missing one get the same answer."""
    answers = []
    for source in ("/etc/passwd", "/etc/no-such-file"):
        with pytest.raises(LocationNotAllowedError) as refused:
            batch.submit(source, "/out/x.parquet")
        answers.append(str(refused.value).replace(source, "<input>"))
    assert answers[0] == answers[1]


def test_submit_records_the_normalised_locations(batch):
    status = batch.submit("file:///in//in.parquet", "/out/./day/out.parquet", job_id="norm")
    assert (status.request.input_uri, status.request.output_uri) == ("/in/in.parquet", "/out/day/out.parquet")


def test_an_existing_output_fails_the_job_and_is_left_as_it_was(batch):
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="first")
    assert run_job(batch.steps, "first") is JobState.SUCCEEDED
    before = batch.files.outputs["/out/out.parquet"]
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="second")
    assert batch.steps.prepare("second") is None  # refused before staging or scoring a row
    assert batch.control.status("second").state is JobState.FAILED
    assert "already exists" in batch.control.status("second").error
    assert not [key for key in batch.files.staged if key.startswith("jobs/second/")]
    assert batch.files.outputs["/out/out.parquet"] is before
    assert batch.control.status("first").state is JobState.SUCCEEDED


@pytest.mark.parametrize("target", ["/out/scores.csv", "/out/scores"])
def test_an_output_not_named_parquet_is_refused_naming_it_and_nothing_is_recorded(batch, target):
    with pytest.raises(InvalidDataError, match=r"output: '/out/scores(\.csv)?' does not end in \.parquet"):
        batch.submit("/in/in.parquet", target, job_id="named")
    assert batch.store.requests == {}
    assert batch.queue.enqueued == []
    batch.submit("/in/in.parquet", "/out/Scores.PARQUET", job_id="upper")  # the suffix in any case


@pytest.mark.parametrize("target", ["/out/.parquet", "/out/day/.PARQUET"])
def test_an_output_named_only_by_its_suffix_is_refused(batch, target):
    """A hidden file no `ls` lists: the job succeeded and its scores were nowhere to be seen."""
    with pytest.raises(InvalidDataError, match=r"names no file: \.parquet is only the suffix"):
        batch.submit("/in/in.parquet", target, job_id="hidden")
    assert batch.store.requests == {}


def test_a_local_output_name_longer_than_a_file_system_holds_is_refused_before_any_row_is_scored(batch):
    """A 256-byte name failed the job as "internal" once every row was scored."""
    with pytest.raises(InvalidDataError, match=r"output: the file name is 256 bytes, more than a file"):
        batch.submit("/in/in.parquet", f"/out/{'é' * 124}.parquet", job_id="long")  # 248 + 8 bytes
    assert batch.store.requests == {}
    batch.submit("/in/in.parquet", f"/out/{'e' * 247}.parquet", job_id="longest")  # 255 bytes


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ServiceUnavailableError("S3 at x is unreachable"), FailureKind.SERVICE),
        (InvalidDataError("V7", "not a number"), FailureKind.INPUT),
        (DataSourceError("no file at in.csv"), FailureKind.INPUT),
        (ModelNotFoundError("no alias 'canary'"), FailureKind.INPUT),
        (FraudDetectionError("2 chunk(s) were never scored"), FailureKind.INTERNAL),
        (RuntimeError("a bug"), FailureKind.INTERNAL),
    ],
)
def test_a_failure_says_whether_running_the_job_again_can_help(error, kind):
    """`fraud batch ... --wait` exits 2 for input (fix it first), 1 for the others (a retry may succeed)."""
    assert failure_kind(error) is kind


def test_a_failure_recorded_before_kinds_existed_reads_as_no_kind(tmp_path):
    """outcome.json of an older release has no `kind`: the CLI then keeps its old exit code, 2."""
    import json

    from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
    from fraud_detection.infrastructure.local import LocalObjectStore

    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    jobs.create(JobRequest("old-1", "in.csv", "out.parquet", "champion", "2026-01-01T00:00:00+00:00"))
    old = {"state": "failed", "error": "prepare: bad", "at": "2026-01-01T00:00:01+00:00"}
    store.write_bytes("jobs/old-1/outcome.json", json.dumps(old).encode())
    assert jobs.status("old-1").error_kind is None
    jobs.create(JobRequest("new-1", "in.csv", "out.parquet", "champion", "2026-01-01T00:00:00+00:00"))
    jobs.finish("new-1", JobState.FAILED, "prepare: S3 down", FailureKind.SERVICE)
    assert jobs.status("new-1").error_kind is FailureKind.SERVICE


def test_a_job_is_its_submitters_namespace_s_and_an_operator_s_is_the_admins(batch):
    """A client names its jobs by the ids it gave; they are recorded as `<namespace>:<id>`, the name by
    which operators (CLI) and admins of other namespaces address them."""
    assert batch.submit("/in/in.parquet", "/out/a.parquet", job_id="acme-1", owner="acme").job_id == "acme-1"
    batch.submit("/in/in.parquet", "/out/b.parquet", job_id="by-operator")
    acme, rival, admin = JobViewer("acme"), JobViewer("evil"), JobViewer("evil", admin=True)
    assert batch.control.status("acme-1", acme).job_id == "acme-1"
    assert batch.control.status("acme:acme-1", acme).job_id == "acme-1"
    assert batch.control.status("acme:acme-1", admin).job_id == "acme:acme-1"
    assert batch.control.status("by-operator", admin).job_id == "by-operator"
    assert batch.control.status("acme:acme-1").job_id == "acme:acme-1"  # the operator (CLI)
    unseen = ((rival, "acme-1"), (rival, "acme:acme-1"), (acme, "by-operator"), (admin, "acme-1"))
    for viewer, job_id in unseen:
        with pytest.raises(JobNotFoundError, match=f"^no job '{job_id}'$"):
            batch.control.status(job_id, viewer)
        with pytest.raises(JobNotFoundError):
            batch.control.cancel(job_id, viewer)
    assert batch.control.status("acme:acme-1").state is JobState.QUEUED  # the refused cancels changed nothing
    assert batch.control.cancel("acme-1", acme).state is JobState.CANCELLED
    assert batch.queue.cancelled == ["acme:acme-1"]


def test_namespaces_have_their_own_job_ids(batch):
    """Before, one id space: a 409 told a client that another namespace had used an id (`acme-2024-05`)."""
    batch.submit("/in/in.parquet", "/out/a.parquet", job_id="day-1", owner="acme")
    theirs = batch.submit("/in/in.parquet", "/out/b.parquet", job_id="day-1", owner="evil")
    assert theirs.job_id == "day-1"
    assert batch.control.status("day-1", JobViewer("evil")).request.output_uri == "/out/b.parquet"
    assert batch.control.status("day-1", JobViewer("acme")).request.output_uri == "/out/a.parquet"
    assert batch.queue.enqueued == ["acme:day-1", "evil:day-1"]
    with pytest.raises(JobExistsError, match=r"^job 'day-1' already exists"):  # the id the client gave
        batch.submit("/in/in.parquet", "/out/c.parquet", job_id="day-1", owner="acme")


def test_a_namespace_s_job_recorded_before_ids_were_namespaced_is_still_its_own(batch):
    """Recorded by an older version under the bare id: its clients still find it, and cannot reuse the id."""
    batch.submit("/in/in.parquet", "/out/a.parquet", job_id="old-1")  # the bare id, as before
    batch.store.owners["old-1"] = "acme"
    assert batch.control.status("old-1", JobViewer("acme")).job_id == "old-1"
    with pytest.raises(JobNotFoundError):
        batch.control.status("old-1", JobViewer("evil"))
    with pytest.raises(JobExistsError, match=r"^job 'old-1' already exists"):
        batch.submit("/in/in.parquet", "/out/b.parquet", job_id="old-1", owner="acme")
    batch.submit("/in/in.parquet", "/out/c.parquet", job_id="old-1", owner="evil")  # not evil's: free
    del batch.store.owners["old-1"]  # recorded before jobs had owners: as it was, any `jobs` client
    assert batch.control.status("old-1", JobViewer("rival")).job_id == "old-1"


def test_a_job_id_with_a_trailing_newline_is_refused(batch):
    """`$` matches before a final newline: `abc\\n` passed as a job id and reached the store as a key."""
    with pytest.raises(InvalidDataError, match="is not a job id"):
        batch.submit("/in/in.parquet", "/out/a.parquet", job_id="abc\n")
    with pytest.raises(JobNotFoundError, match="job ids are") as refused:
        batch.control.status("abc\n")
    assert str(refused.value).startswith("no job 'abc\\n': ")  # quoted on one line


def test_a_long_refused_job_id_is_quoted_shortened(batch):
    """A 10 KB id came back whole in the 404."""
    with pytest.raises(JobNotFoundError) as refused:
        batch.control.status("x" * 10_000 + "!")
    assert str(refused.value).startswith(f"no job '{'x' * 80}'... (10,001 characters): job ids are")
