"""The Celery adapter and tasks against a real Redis: the queue's messages, a broker outage at submit, and
whole jobs run by an in-process worker (a thread) over the real job store and batch files on a local folder.
The model registry is a fake; the e2e tests run real worker processes with a real registry."""

import base64
import gc
import json
import logging
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from dependency_injector import providers
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import FailureKind, JobState
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.ports.jobs import QueuedWork
from fraud_detection.entrypoints.api.app import create_app
from fraud_detection.infrastructure.celery import CeleryJobQueue, make_celery_app
from fraud_detection.infrastructure.celery.names import PREPARE, QUEUE
from fraud_detection.infrastructure.prometheus.worker_metrics import QueueDepthCollector
from fraud_detection.settings import Settings
from fraud_detection.workers import tasks
from fraud_detection.workers.app import create_worker_app
from fraud_detection.workers.composition import meter_job_outcomes
from fraud_detection.workers.runner import WorkerOptions, worker_argv
from tests.api_clients import SERVICE, write_clients
from tests.builders import transactions
from tests.fakes import FakeModel, FakeModelCache, FakePredictionLog, FakeRegistry
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token-for-celery-tests-0123456789"
WORKER_DB, IDLE_DB = 1, 2  # the worker consumes db 1; db 2 has no consumer, so its messages stay queued
JOB_TIMEOUT_SECONDS = 60


class FlakyRegistry(FakeRegistry):
    """Unreachable for the first `outages` alias lookups, then fine (a registry restarting)."""

    def __init__(self, outages: int = 0) -> None:
        super().__init__()
        self.outages = outages

    def get_by_alias(self, alias: str):
        if self.outages > 0:
            self.outages -= 1
            raise ServiceUnavailableError("registry at fake:// is unreachable")
        return super().get_by_alias(alias)


class Jobs:
    """Submit jobs to the in-process worker and wait for them."""

    def __init__(self, container, registry: FlakyRegistry, folder, redis_url: str = "", app=None) -> None:
        self.container, self.registry, self.folder = container, registry, folder
        self.redis_url, self.app = redis_url, app

    def input(self, name: str, rows: int, **cells: tuple[int, float]) -> str:
        frame = transactions(rows, seed=3).drop(columns=["Class"])
        frame["transaction_id"] = [f"{name}-{i}" for i in range(rows)]
        for column, (row, value) in cells.items():
            frame.loc[row, column] = value
        path = self.folder / "batch" / "in" / f"{name}.parquet"  # under the default input root
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
        return str(path)

    def run(self, input_path: str, job_id: str, model: str = "champion"):
        output = str(self.folder / "batch" / "out" / f"{job_id}-out.parquet")
        self.container.batch.submit_job()(input_path, output, model, job_id)
        control = self.container.batch.job_control()
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while not (status := control.status(job_id)).state.finished:
            assert time.monotonic() < deadline, (
                f"job {job_id} still {status.state} after {JOB_TIMEOUT_SECONDS}s"
            )
            time.sleep(0.05)
        return status, output


def job_settings(folder: Path, broker_url: str) -> Settings:
    """Small chunks (300 rows), a short visibility timeout, LightGBM as it is (no compilation)."""
    return Settings(
        home=folder,
        storage_uri=str(folder / "store"),
        broker_url=broker_url,
        batch_chunk_rows=300,
        broker_visibility_timeout=60,
        model_compile=False,
    )


@pytest.fixture(scope="module")
def jobs(redis_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("celery-jobs")
    settings = job_settings(folder, redis_server.url(WORKER_DB))
    registry = FlakyRegistry()
    registry.register("models:/1", "run-1", ModelMetadata("fe-1", 0.5, "d" * 64))
    registry.set_alias(CHAMPION, 1)
    registry.uri_models["models:/2"] = FakeModel()
    registry.register("models:/2", "run-2", ModelMetadata("fe-1", 0.5, "d" * 64))
    registry.broken.add(2)  # loading v2 raises RuntimeError: a crash no retry can fix
    container = meter_job_outcomes(Container(settings))  # as the worker process does
    container.adapters.registry.override(providers.Object(registry))
    use_container(container)
    app = create_worker_app(settings)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield Jobs(container, registry, folder, settings.broker_url, app)
    finally:
        use_container(None)
        gc.collect()  # chord results left by the tasks unsubscribe while their Redis still answers
        redis.Redis.from_url(redis_server.url(WORKER_DB)).flushdb()


def eventually(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_app_acks_late_prefetches_one_and_sweeps_within_the_visibility_timeout():
    conf = make_celery_app(Settings(broker_url="redis://127.0.0.1:1/0", broker_visibility_timeout=10)).conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (
        True,
        True,
        1,
    )
    assert (conf.task_serializer, conf.result_serializer, conf.accept_content) == ("json", "json", ["json"])
    assert conf.result_backend == "redis://127.0.0.1:1/0"
    transport = conf.broker_transport_options
    assert transport["visibility_timeout"] == 10
    assert transport["unacked_restore_interval"] * transport["unacked_restore_throttle"] < 10
    assert conf.broker_connection_retry_on_startup is True
    with pytest.raises(ValueError, match="FRAUD_BROKER_URL"):
        make_celery_app(Settings(broker_url=None))


def test_the_worker_runs_one_solo_process_or_a_prefork_pool():
    solo = worker_argv(WorkerOptions(concurrency=1))
    assert {"--pool=solo", "--without-mingle", "--without-gossip", f"--queues={QUEUE}"} <= set(solo)
    assert "--pool=prefork" in worker_argv(WorkerOptions(concurrency=3))
    assert next(a for a in solo if a.startswith("--hostname=fraud-worker-"))


def test_enqueue_sends_the_prepare_task_by_name_and_the_depth_counts_it(redis_server):
    app = make_celery_app(Settings(broker_url=redis_server.url(IDLE_DB)))
    queue = CeleryJobQueue(app)
    client = redis.Redis.from_url(redis_server.url(IDLE_DB))
    client.flushdb()
    try:
        assert queue.depth() == 0
        queue.enqueue("job-a")
        queue.enqueue("job-b")
        assert queue.depth() == 2
        message = json.loads(client.lindex(QUEUE, -1))  # kombu pushes left, workers pop right: the oldest
        assert (message["headers"]["task"], message["headers"]["id"]) == (PREPARE, "job-a.prepare")
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))  # Celery's protocol 2 body
        assert args == ["job-a"]
        registry = CollectorRegistry()
        registry.register(QueueDepthCollector(queue.depth))
        assert "fraud_batch_queue_depth 2.0" in generate_latest(registry).decode()
        queue.cancel("job-a")  # a revoke broadcast: must not raise
    finally:
        client.flushdb()


def test_an_unreachable_broker_refuses_the_job_quickly_without_leaking_the_password():
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    queue = CeleryJobQueue(make_celery_app(Settings(broker_url=url)))
    with pytest.raises(ServiceUnavailableError) as refused:
        queue.enqueue("job-x")
    message = str(refused.value)
    assert f"redis://:**@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "hunter2" not in message
    assert "\n" not in message
    assert queue.depth() is None
    queue.cancel("job-x")  # the job record is what cancels; a dead broker must not break that


@pytest.mark.slow
def test_a_broker_that_accepts_but_never_answers_is_unavailable_within_seconds():
    with socket.create_server(("127.0.0.1", 0)) as hung:  # the kernel accepts; nobody ever replies
        queue = CeleryJobQueue(
            make_celery_app(Settings(broker_url=f"redis://127.0.0.1:{hung.getsockname()[1]}"))
        )
        with pytest.raises(ServiceUnavailableError, match="is unreachable: Timeout"):
            queue.enqueue("job-y")


def in_memory_queue() -> CeleryJobQueue:
    """A queue on Celery's in-memory broker, which the settings refuse (no worker could see its jobs)."""
    app = make_celery_app(Settings(broker_url="redis://127.0.0.1:1/0"))
    app.conf.broker_url = "memory://"
    return CeleryJobQueue(app)


def test_depth_is_unknown_for_a_broker_other_than_redis():
    assert in_memory_queue().depth() is None


def test_a_job_fans_out_over_chunks_and_commits_one_output_in_input_order(jobs):
    before = (sample("fraud_batch_rows_scored_total"), sample("fraud_batch_jobs_total", state="succeeded"))
    status, output = jobs.run(jobs.input("ok", 1_000), "ok-1")
    assert (status.state, status.rows_scored, status.chunks_done, status.chunks_total) == (
        JobState.SUCCEEDED,
        1_000,
        4,
        4,
    )
    frame = pd.read_parquet(output)
    assert frame["row"].tolist() == list(range(1_000))
    assert frame["transaction_id"].tolist() == [f"ok-{i}" for i in range(1_000)]
    assert list(frame.columns) == [
        "row",
        "transaction_id",
        "probability",
        "decision",
        "model_version",
        "threshold",
    ]
    assert set(frame["threshold"]) == {0.5}
    assert status.threshold == 0.5
    assert sample("fraud_batch_rows_scored_total") - before[0] == 1_000
    # counted just after the outcome is written: this thread may read the outcome in between
    assert eventually(lambda: sample("fraud_batch_jobs_total", state="succeeded") - before[1] == 1)
    assert sample("fraud_batch_chunk_duration_seconds_count") >= 4
    parts = jobs.folder / "store" / "jobs" / "ok-1" / "parts"
    assert eventually(lambda: not list(parts.glob("*")))  # the commit cleans up right after recording


def test_bad_data_in_one_chunk_fails_the_job_naming_column_and_row(jobs):
    before = sample("fraud_batch_jobs_total", state="failed")
    status, output = jobs.run(jobs.input("nan", 1_000, V7=(650, np.nan)), "nan-1")
    assert status.state is JobState.FAILED
    assert "column 'V7' row 651" in status.error
    assert status.error_kind is FailureKind.INPUT  # `fraud batch ... --wait` exits 2: fix the data
    assert not Path(output).exists()
    # The worker counts the outcome just after writing it, and this thread may read the outcome in between.
    assert eventually(lambda: sample("fraud_batch_jobs_total", state="failed") - before == 1)
    time.sleep(0.2)
    assert sample("fraud_batch_jobs_total", state="failed") - before == 1  # and once only


def test_a_task_that_crashes_fails_the_job_instead_of_leaving_it_running(jobs):
    before = sample("fraud_batch_task_failures_total", task="fraud.batch.score_chunk")
    status, output = jobs.run(jobs.input("crash", 700), "crash-1", model="2")
    assert status.state is JobState.FAILED
    assert "score_chunk: unexpected RuntimeError: artifact of v2 is corrupt" in status.error
    assert status.error_kind is FailureKind.INTERNAL
    assert not Path(output).exists()
    assert sample("fraud_batch_task_failures_total", task="fraud.batch.score_chunk") - before >= 1


def test_the_chord_fails_the_job_even_when_the_task_failure_handler_does_not_run(jobs, monkeypatch):
    """A hard time limit, or a failure handler that fails itself, bypasses `on_failure`: the chord's error
    callback (`abort`) still ends the job."""
    monkeypatch.setattr(tasks.JobTask, "on_failure", lambda *args: None)
    status, output = jobs.run(jobs.input("bypass", 700), "bypass-1", model="2")
    assert status.state is JobState.FAILED
    assert status.error == "a task of the job failed for good; see the worker logs"
    assert status.error_kind is FailureKind.INTERNAL
    assert not Path(output).exists()


def test_an_outage_is_retried_and_the_job_still_succeeds(jobs):
    jobs.registry.outages = 1
    status, _ = jobs.run(jobs.input("flaky", 400), "flaky-1")
    assert (status.state, status.rows_scored) == (JobState.SUCCEEDED, 400)
    assert jobs.registry.outages == 0


def test_an_outage_that_outlasts_the_retries_fails_the_job(jobs, monkeypatch, caplog):
    monkeypatch.setattr(tasks.prepare, "max_retries", 1)
    jobs.registry.outages = 2
    caplog.set_level(logging.WARNING)  # a worker started in this process left the root logger at ERROR
    status, _ = jobs.run(jobs.input("down", 400), "down-1")
    assert status.state is JobState.FAILED
    assert status.error == "prepare: registry at fake:// is unreachable (gave up after 1 retries)"
    assert status.error_kind is FailureKind.SERVICE  # exit 1: the same job may succeed later

    # Celery's line about the task that gave up: one line, without the outage's traceback. Logged by the
    # worker's thread after the task recorded the failure, so it may come a moment after the status.
    def given_up() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "celery.app.trace" and r.levelno >= logging.ERROR]

    assert eventually(lambda: bool(given_up()))
    (failure,) = given_up()
    assert failure.exc_info is None
    assert (
        "[service outage: fraud_detection.domain.errors.ServiceUnavailableError: registry at fake:// is "
        "unreachable; no traceback]" in failure.getMessage()
    )


def test_the_api_answers_503_and_records_nothing_when_the_broker_is_down(tmp_path):
    closed = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    settings = Settings(home=tmp_path, admin_token=TOKEN, model_poll_seconds=0, broker_url=closed)
    container = Container(settings)
    container.adapters.registry.override(providers.Object(FakeRegistry()))
    container.serving.prediction_log.override(providers.Object(FakePredictionLog()))
    container.serving.model_cache.override(providers.Object(FakeModelCache()))
    container.batch.model_accelerator.override(providers.Object(ModelAccelerator()))
    source = tmp_path / "batch" / "in" / "in.parquet"  # under the default input root
    source.parent.mkdir(parents=True)
    transactions(50).to_parquet(source)
    auth = SERVICE  # the jobs scope
    write_clients(tmp_path)
    target = tmp_path / "batch" / "out" / "out.parquet"
    job = {"input_uri": str(source), "output_uri": str(target), "job_id": "api-down"}
    with TestClient(create_app(container)) as client:
        response = client.post("/v1/jobs", json=job, headers=auth)
        assert response.status_code == 503
        assert "redis://:**@127.0.0.1" in response.json()["error"]
        assert "hunter2" not in response.text
        assert client.get("/v1/jobs/api-down", headers=auth).status_code == 404


def test_the_queued_work_is_read_from_the_queue_and_from_what_workers_hold(redis_server):
    """Waiting messages (the queue's list) and delivered, unacknowledged ones (kombu's `unacked` hash, as a
    worker running or prefetching a task, or waiting out a retry's countdown, leaves them)."""
    queue = CeleryJobQueue(make_celery_app(Settings(broker_url=redis_server.url(IDLE_DB))))
    client = redis.Redis.from_url(redis_server.url(IDLE_DB))
    client.flushdb()
    try:
        assert queue.queued_work() == QueuedWork({}, {})
        queue.enqueue("job.with.dots")
        queue.enqueue("job-b")
        held = json.loads(client.lindex(QUEUE, -1))
        held["headers"]["id"] = "job-c.chunk.000007"
        client.hset("unacked", "tag-1", json.dumps([held, "", QUEUE]))
        held["headers"]["id"] = "job-b.commit"
        client.hset("unacked", "tag-2", json.dumps([held, "", QUEUE]))
        other = json.loads(client.lindex(QUEUE, -1)) | {"headers": {"id": "3f1c-some-uuid", "task": "x"}}
        client.lpush(QUEUE, json.dumps(other), b"not json")
        assert queue.queued_work() == QueuedWork(
            {"job.with.dots": {"prepare"}, "job-b": {"prepare"}},
            {"job-b": {"commit"}, "job-c": {"chunk 7"}},
        )
        client.delete(QUEUE)  # a broker that lost its queue
        assert queue.queued_work() == QueuedWork({}, {"job-b": {"commit"}, "job-c": {"chunk 7"}})
    finally:
        client.flushdb()
    assert in_memory_queue().queued_work() is None
    down = CeleryJobQueue(make_celery_app(Settings(broker_url=f"redis://127.0.0.1:{free_port()}/0")))
    assert down.queued_work() is None


def test_a_job_recorded_but_never_queued_is_found_by_two_looks_and_runs_to_its_end(jobs):
    """What an API replica whose submit stopped between the record and the message leaves (seen on a real
    stack with S3 frozen under a client that gave up): a job `queued` for ever, its id taken."""
    from fraud_detection.application.batch.stalled import StalledJobs
    from fraud_detection.domain.jobs import JobRequest

    store = jobs.container.adapters.job_store()
    output = str(jobs.folder / "batch" / "out" / "lost-1-out.parquet")
    store.create(JobRequest("lost-1", jobs.input("lost", 700), output, "champion", "2026-12-05T00:00:00Z"))
    stalled = StalledJobs(store, jobs.container.batch.job_queue())
    first = stalled.look()
    assert first.seen
    assert "lost-1" in first.idle
    sweep = stalled.sweep(first)
    assert sweep.resumed == ("lost-1",)
    control = jobs.container.batch.job_control()
    assert eventually(lambda: control.status("lost-1").state.finished, JOB_TIMEOUT_SECONDS)
    status = control.status("lost-1")
    assert (status.state, status.rows_scored) == (JobState.SUCCEEDED, 700)
    assert len(pd.read_parquet(output)) == 700
    assert "lost-1" not in list(store.open_jobs())
    assert stalled.sweep(sweep.look).resumed == ()


def test_a_job_queued_again_sends_only_its_chunks_not_done_or_else_only_its_commit(jobs, redis_server):
    """prepare run again (a resumed job, a redelivery once its chunks were out) on a broker nobody consumes:
    the messages it sends are the chunks left, then, with none left, the commit alone."""
    from fraud_detection.domain.jobs import Chunk, JobPlan, JobRequest

    store = jobs.container.adapters.job_store()
    store.create(JobRequest("again-1", "in.parquet", "out.parquet", "champion", "2026-12-05T00:00:00Z"))
    chunks = tuple(Chunk(i, f"jobs/again-1/input/{i}", 10, 10 * i) for i in range(3))
    store.save_plan("again-1", JobPlan("fraud", 1, 0.5, chunks, False))
    store.mark_chunk_done("again-1", 1, 10)
    idle_app = create_worker_app(job_settings(jobs.folder, redis_server.url(IDLE_DB)))
    client = redis.Redis.from_url(redis_server.url(IDLE_DB))
    client.flushdb()

    def sent() -> list[str]:
        ids = [json.loads(raw)["headers"]["id"] for raw in client.lrange(QUEUE, 0, -1)]
        client.delete(QUEUE)
        return sorted(ids)

    try:
        assert idle_app.tasks[PREPARE].apply(args=["again-1"]).get() == 2
        assert sent() == ["again-1.chunk.000000", "again-1.chunk.000002"]
        store.mark_chunk_done("again-1", 0, 10)
        store.mark_chunk_done("again-1", 2, 10)
        assert idle_app.tasks[PREPARE].apply(args=["again-1"]).get() == 0
        assert sent() == ["again-1.commit"]
    finally:
        client.flushdb()
        store.finish("again-1", JobState.CANCELLED, "test over")


@pytest.mark.filterwarnings("ignore:Exception raised outside body:RuntimeWarning")  # Celery's, as expected
def test_a_chunk_result_redis_could_not_store_leaves_the_job_to_its_commit_not_failed(
    jobs, monkeypatch, caplog
):
    """Seen on a real stack with Redis frozen 30 s: a chunk scored and marked done, then storing its result
    for the chord timed out (after the task's body: no retry applies). The task failure and the chord's
    error failed the whole job ("internal"); its work stood."""
    from redis.exceptions import TimeoutError as RedisTimeout

    backends = type(jobs.app.backend)  # each thread has its own instance: the worker's is another
    store_result = backends.store_result  # what the worker's tracer calls as a task succeeds
    failed: list[str] = []

    def stalled_once(backend, task_id, result, state, *args, **kwargs):
        if task_id.endswith(".chunk.000001") and state == "SUCCESS" and not failed:
            failed.append(task_id)
            raise RedisTimeout("Timeout reading from socket")
        return store_result(backend, task_id, result, state, *args, **kwargs)

    monkeypatch.setattr(backends, "store_result", stalled_once)
    caplog.set_level(logging.WARNING)  # a worker started in this process left the root logger at ERROR
    status, output = jobs.run(jobs.input("stall", 1_000), "stall-1")
    assert failed == ["stall-1.chunk.000001"]
    assert (status.state, status.rows_scored, status.error) == (JobState.SUCCEEDED, 1_000, None)
    assert pd.read_parquet(output)["row"].tolist() == list(range(1_000))
    # Celery's own lines about it (the task's failure, its chord's): one line each, no redis-py traceback
    celerys = [r for r in caplog.records if r.name.startswith("celery.") and r.levelno >= logging.ERROR]
    assert {"raised unexpected", "Chord"} <= {
        w for r in celerys for w in ("raised unexpected", "Chord") if w in r.getMessage()
    }
    assert all(
        r.exc_info is None and "[broker outage: redis.exceptions.TimeoutError" in r.getMessage()
        for r in celerys
    )


def test_a_task_of_a_submission_that_was_undone_does_nothing_and_fails_nothing(jobs):
    """A submit timing out on a stalled Redis after writing the message is undone (503); the message still
    arrives. It used to raise JobNotFoundError with a traceback and count a task failure."""
    before = sample("fraud_batch_task_failures_total", task=PREPARE)
    queue = jobs.container.batch.job_queue()
    queue.enqueue("ghost-1")
    assert eventually(lambda: queue.queued_work() == QueuedWork({}, {}), JOB_TIMEOUT_SECONDS)
    assert sample("fraud_batch_task_failures_total", task=PREPARE) == before
