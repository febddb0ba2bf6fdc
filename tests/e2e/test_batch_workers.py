"""Batch scoring with real processes: a Redis broker, two `fraud worker` processes (solo pool, their own
/metrics ports), SeaweedFS for the work store and for inputs/outputs, a champion in a SQLite MLflow registry.
Jobs are submitted with `fraud batch submit`; the test reads job records and outputs from S3 directly."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from fraud_detection.application.batch.control import JobControl
from fraud_detection.composition import Container
from fraud_detection.domain.jobs import JobState, JobStatus
from fraud_detection.infrastructure.arrow.batch import ParquetBatchFiles
from fraud_detection.infrastructure.celery import CeleryJobQueue, make_celery_app
from fraud_detection.infrastructure.celery.names import QUEUE
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.s3 import S3ObjectStore
from fraud_detection.settings import Settings
from fraud_detection.simulation import generate_transactions, write_transactions
from tests.builders import transactions
from tests.e2e.conftest import FRAUD, Cli, make_cli
from tests.fixtures.servers import free_port, stop

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHUNK_ROWS = 10_000
VISIBILITY_TIMEOUT = 10  # seconds before a dead worker's task goes to another worker
JOB_TIMEOUT = 90.0
SWEEP_SECONDS = 2
WORKER_START_TIMEOUT = 60.0
OUTPUT_COLUMNS = ["row", "transaction_id", "probability", "decision", "model_version", "threshold"]


@pytest.fixture(scope="module")
def champion_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A registry holding one champion, trained by the application's pipeline on 30k synthetic rows
    (no Prefect: the use cases directly). Returns its MLFLOW_TRACKING_URI (SQLite, absolute path)."""
    home = tmp_path_factory.mktemp("batch-champion")
    source = home / "train.parquet"
    write_transactions(generate_transactions(30_000, seed=5, fraud_rate=0.005), source)
    settings = Settings(home=home, train_max_rounds=300)
    pipeline = Container(settings).training.pipeline()
    with pipeline.session(pipeline.ingest(str(source))) as session:
        session.validate()
        session.build_features()
        session.train()
        session.evaluate()
        session.register()
        assert session.promote().promote
    return settings.resolved_tracking_uri


@dataclass
class Worker:
    name: str
    metrics_port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def metrics(self) -> dict[str, float]:
        """Samples of /metrics by name and labels, e.g. `fraud_batch_jobs_total{state="succeeded"}`."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
        return samples

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """The services of one test module, and ways to drive and observe them."""

    cli: Cli
    bucket: str
    s3: S3Client
    settings: Settings
    workers: dict[str, Worker] = field(default_factory=dict)

    def start_workers(self, *names: str, preload: bool = True, **settings: str) -> None:
        """Start them all, then wait for each to say "ready" (startup costs seconds of imports). Without
        `preload` a worker loads the model inside its first chunk task: seconds in which to catch it.
        `settings`: variables of these workers only (`FRAUD_BROKER_VISIBILITY_TIMEOUT="3600"`)."""
        env = self.cli.env | {"FRAUD_WORKER_PRELOAD": str(preload).lower()} | settings
        command = [FRAUD, "worker", "--metrics-host", "127.0.0.1", "--metrics-port"]
        for name in names:
            worker = self.workers.setdefault(
                name, Worker(name, free_port(), self.cli.home / f"worker-{name}.log")
            )
            with worker.log.open("wb") as sink:  # a restarted worker's log holds only its own lines
                worker.process = subprocess.Popen(
                    [*command, str(worker.metrics_port)], env=env, cwd=self.cli.home,
                    stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        for name in names:
            worker = self.workers[name]
            while " ready." not in worker.text():
                if worker.process.poll() is not None or time.monotonic() > deadline:
                    self.stop_workers(*names)
                    pytest.fail(f"worker {name} did not start:\n{worker.text()[-3000:]}")
                time.sleep(0.1)

    def stop_workers(self, *names: str) -> None:
        """SIGTERM all (warm shutdown), then wait; SIGKILL what is left (`stop` does both per process)."""
        running = [w.process for n in names if (w := self.workers[n]).process and w.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            stop(process, grace=20)

    def put_input(self, key: str, frame: pd.DataFrame) -> str:
        buffer = io.BytesIO()
        if key.endswith(".csv"):
            buffer.write(frame.to_csv(index=False).encode())
        else:
            frame.to_parquet(buffer)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=buffer.getvalue())
        return f"s3://{self.bucket}/{key}"

    def output(self, key: str) -> pd.DataFrame:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return pd.read_parquet(io.BytesIO(body))

    def keys(self, prefix: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]

    def submit(self, input_uri: str, output_key: str, job_id: str) -> None:
        output_uri = f"s3://{self.bucket}/{output_key}"
        result = self.cli("batch", "submit", input_uri, output_uri, "--job-id", job_id, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[0] == job_id

    def control(self) -> JobControl:
        """The submitting side's own objects (what `fraud batch status|cancel` and the API use)."""
        work = S3ObjectStore(self.bucket, "work", client=self.s3)
        files = ParquetBatchFiles(work, roots=self.settings.batch_roots, s3_client_factory=lambda: self.s3)
        return JobControl(ObjectStoreJobStore(work), CeleryJobQueue(make_celery_app(self.settings)), files)

    def wait(
        self, job_id: str, until: Callable[[JobStatus], bool] = lambda s: s.state.finished, poll: float = 0.1
    ) -> JobStatus:
        control, deadline = self.control(), time.monotonic() + JOB_TIMEOUT
        while not until(status := control.status(job_id)):
            assert time.monotonic() < deadline, f"{job_id}: {status}"
            time.sleep(poll)
        return status


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, redis_server, seaweedfs, champion_uri: str
) -> Iterator[Cluster]:
    bucket = seaweedfs.create_bucket("batch")
    broker = redis_server.url(3)
    env = {
        "FRAUD_BROKER_URL": broker,
        "FRAUD_STORAGE_URI": f"s3://{bucket}/work",
        "FRAUD_S3_ENDPOINT_URL": seaweedfs.endpoint_url,
        "AWS_ACCESS_KEY_ID": seaweedfs.access_key,
        "AWS_SECRET_ACCESS_KEY": seaweedfs.secret_key,
        "AWS_REGION": seaweedfs.region,
        "MLFLOW_TRACKING_URI": champion_uri,
        "FRAUD_BATCH_CHUNK_ROWS": str(CHUNK_ROWS),
        "FRAUD_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "FRAUD_MODEL_COMPILE": "false",
        "FRAUD_BATCH_INPUT_ROOTS": f"s3://{bucket}/in",
        "FRAUD_BATCH_OUTPUT_ROOTS": f"s3://{bucket}/out",
        # Workers look for stalled jobs every 2 s: every test of the module also checks that no job merely
        # running, waiting or retrying is taken for one (`test_a_job_whose_tasks_the_broker_lost...`).
        "FRAUD_BATCH_SWEEP_SECONDS": str(SWEEP_SECONDS),
    }
    cli = make_cli(tmp_path_factory.mktemp("batch-cluster"), **env)
    settings = Settings(
        broker_url=broker,
        broker_visibility_timeout=VISIBILITY_TIMEOUT,
        batch_input_roots=env["FRAUD_BATCH_INPUT_ROOTS"],
        batch_output_roots=env["FRAUD_BATCH_OUTPUT_ROOTS"],
    )
    cluster = Cluster(cli, bucket, seaweedfs.client(), settings)
    try:
        cluster.start_workers("a", "b")
        yield cluster
    finally:
        cluster.stop_workers(*cluster.workers)


def plain(text: str) -> str:
    """Without the styles of the forced terminal (bold digits)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def scored_input(rows: int, seed: int, prefix: str) -> pd.DataFrame:
    frame = transactions(rows, seed=seed).drop(columns=["Class"])
    frame["transaction_id"] = [f"{prefix}-{i}" for i in range(rows)]
    return frame


def assert_complete_output(output: pd.DataFrame, source: pd.DataFrame) -> None:
    assert list(output.columns) == OUTPUT_COLUMNS
    assert len(output) == len(source)
    assert (output["row"].to_numpy() == np.arange(len(source))).all()
    assert output["transaction_id"].tolist() == source["transaction_id"].tolist()
    assert output["probability"].between(0, 1).all()
    assert set(output["decision"]) <= {"fraud", "legit"}
    assert (output["model_version"] == 1).all()
    assert output["threshold"].nunique() == 1  # the pinned version's, on every row
    flagged = output["probability"] >= output["threshold"]
    assert (output["decision"] == np.where(flagged, "fraud", "legit")).all()


def chunk_lines(log: str, job_id: str, event: str) -> list[str]:
    """Ids of the job's chunk tasks with a Celery worker log event ('received', 'succeeded')."""
    return re.findall(rf"fraud\.batch\.score_chunk\[({re.escape(job_id)}\.chunk\.\d+)\] {event}", log)


def test_a_job_is_split_across_both_workers_into_one_ordered_output(cluster: Cluster):
    before = {name: w.metrics() for name, w in cluster.workers.items()}
    source = scored_input(100_000, seed=11, prefix="split")
    cluster.submit(cluster.put_input("in/split.parquet", source), "out/split.parquet", "split-1")

    status = cluster.wait("split-1")

    assert (status.state, status.rows_scored, status.chunks_done, status.chunks_total) == (
        JobState.SUCCEEDED,
        100_000,
        10,
        10,
    )
    assert_complete_output(cluster.output("out/split.parquet"), source)
    rows = {
        name: w.metrics()["fraud_batch_rows_scored_total"] - before[name]["fraud_batch_rows_scored_total"]
        for name, w in cluster.workers.items()
    }
    assert all(scored > 0 for scored in rows.values()), rows  # both workers took chunks
    assert sum(rows.values()) == 100_000  # and no chunk was scored twice
    ended = [
        w.metrics().get('fraud_batch_jobs_total{state="succeeded"}', 0.0) for w in cluster.workers.values()
    ]
    assert (
        sum(ended) - sum(b.get('fraud_batch_jobs_total{state="succeeded"}', 0.0) for b in before.values())
        == 1
    )
    assert all(w.metrics()["fraud_batch_queue_depth"] == 0 for w in cluster.workers.values())
    assert cluster.keys("work/jobs/split-1/parts/") == []


def test_a_worker_killed_mid_chunk_loses_nothing_and_the_job_completes_once(cluster: Cluster):
    # A fresh worker "a" without preloading loads the model inside its first chunk task (seconds): a wide
    # window to kill it in.
    cluster.stop_workers("a")
    cluster.start_workers("a", preload=False)
    victim = cluster.workers["a"]
    source = scored_input(100_000, seed=12, prefix="kill")
    cluster.submit(cluster.put_input("in/kill.parquet", source), "out/kill.parquet", "kill-1")
    deadline = time.monotonic() + JOB_TIMEOUT
    while not chunk_lines(victim.text(), "kill-1", "received"):
        assert time.monotonic() < deadline, victim.text()[-3000:]
        time.sleep(0.02)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(10)
    try:
        # A chunk it had taken (running, or prefetched: unacknowledged either way) and never finished. On a
        # busy machine the first one may already be done by the time the kill lands; a later one is not.
        done = chunk_lines(victim.text(), "kill-1", "succeeded")
        unfinished = [
            chunk for chunk in chunk_lines(victim.text(), "kill-1", "received") if chunk not in done
        ]
        assert unfinished, victim.text()[-3000:]
        lost = unfinished[0]

        status = cluster.wait("kill-1")

        assert (status.state, status.rows_scored, status.chunks_done) == (JobState.SUCCEEDED, 100_000, 10)
        assert_complete_output(cluster.output("out/kill.parquet"), source)
        survivor = cluster.workers["b"].text()
        assert lost in chunk_lines(survivor, "kill-1", "received")  # redelivered after the visibility timeout
        assert len(re.findall(r"job kill-1: succeeded", survivor)) == 1
    finally:
        cluster.start_workers("a")


def test_a_worker_killed_mid_chunk_is_found_by_the_sweeps_well_before_the_visibility_timeout(
    cluster: Cluster,
):
    """With a deployment's visibility timeout (an hour), the killed worker's task stays held and its run
    mark stays: that read as a chunk being scored, and the job sat `running` for the hour (seen on `make
    stack`). The mark is no longer renewed: after FRAUD_BATCH_RUN_LOST_SECONDS the sweeps queue the job
    again, and the next worker ends it."""
    patient = {"FRAUD_BROKER_VISIBILITY_TIMEOUT": "3600", "FRAUD_BATCH_RUN_LOST_SECONDS": "6"}
    cluster.stop_workers(*cluster.workers)
    # Alone and cold: it loads the model inside its first chunk's run, seconds in which to kill it.
    cluster.start_workers("a", preload=False, **patient)
    victim = cluster.workers["a"]
    source = scored_input(100_000, seed=14, prefix="gone")
    try:
        cluster.submit(cluster.put_input("in/gone.parquet", source), "out/gone.parquet", "gone-1")
        deadline = time.monotonic() + JOB_TIMEOUT
        while not cluster.keys("work/jobs/gone-1/runs/chunk-"):  # a chunk's run under way
            assert time.monotonic() < deadline, victim.text()[-3000:]
            time.sleep(0.02)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)
        assert cluster.control().status("gone-1").chunks_done < 10
        cluster.start_workers("b", **patient)

        status = cluster.wait("gone-1")  # JOB_TIMEOUT, 90 s: the hour's redelivery never came into it

        assert (status.state, status.rows_scored, status.chunks_done) == (JobState.SUCCEEDED, 100_000, 10)
        assert_complete_output(cluster.output("out/gone.parquet"), source)
        survivor = cluster.workers["b"].text()
        assert "job gone-1 had nothing queued and made no progress: queued again" in survivor
    finally:
        cluster.stop_workers(*cluster.workers)
        cluster.start_workers(*cluster.workers)


def test_a_cancelled_job_ends_cancelled_and_writes_no_output(cluster: Cluster):
    # Cold workers load the model inside their first chunk task: the job stays running for seconds.
    cluster.stop_workers(*cluster.workers)
    cluster.start_workers(*cluster.workers, preload=False)
    source = scored_input(200_000, seed=13, prefix="cancel")  # 20 chunks: seconds of work left to cancel
    cluster.submit(cluster.put_input("in/cancel.parquet", source), "out/cancel.parquet", "cancel-1")
    cluster.wait("cancel-1", until=lambda s: s.state is JobState.RUNNING or s.state.finished, poll=0.02)
    # Freeze both workers for the moment of the cancel, so it lands while chunks are still to be scored.
    for worker in cluster.workers.values():
        worker.process.send_signal(signal.SIGSTOP)
    try:
        status = cluster.control().cancel("cancel-1")
    finally:
        for worker in cluster.workers.values():
            worker.process.send_signal(signal.SIGCONT)
    assert status.state is JobState.CANCELLED
    assert status.chunks_done < 20
    logs = lambda: "".join(w.text() for w in cluster.workers.values())  # noqa: E731
    deadline = time.monotonic() + JOB_TIMEOUT
    while "job cancel-1: cancelled" not in logs():  # the commit task ran, saw the cancel, cleaned up
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert cluster.control().status("cancel-1").state is JobState.CANCELLED
    assert cluster.keys("out/cancel.parquet") == []
    assert cluster.keys("work/jobs/cancel-1/parts/") == cluster.keys("work/jobs/cancel-1/input/") == []


def test_bad_rows_fail_their_job_only(cluster: Cluster):
    bad = scored_input(30_000, seed=14, prefix="bad")
    bad.loc[25_000, "V3"] = np.nan  # in the third chunk: earlier chunks are scored before it fails
    good = scored_input(40_000, seed=15, prefix="good")
    cluster.submit(cluster.put_input("in/bad.csv", bad), "out/bad.parquet", "bad-1")
    cluster.submit(cluster.put_input("in/good.parquet", good), "out/good.parquet", "good-1")

    failed, succeeded = cluster.wait("bad-1"), cluster.wait("good-1")

    assert failed.state is JobState.FAILED
    assert "column 'V3' row 25001" in failed.error
    assert cluster.keys("out/bad.parquet") == []
    assert succeeded.state is JobState.SUCCEEDED
    assert_complete_output(cluster.output("out/good.parquet"), good)


def test_a_missing_input_fails_its_job_at_once_with_the_reason(cluster: Cluster):
    missing = f"s3://{cluster.bucket}/in/nope.csv"
    result = cluster.cli(
        "batch", "submit", missing, f"s3://{cluster.bucket}/out/nope.parquet", "--job-id", "nope-1", "--wait"
    )
    assert result.returncode == 2
    assert f"input '{missing}': not found or not allowed" in result.stderr
    status = cluster.wait("nope-1")
    assert status.state is JobState.FAILED
    assert "not found or not allowed" in status.error
    assert cluster.keys("out/nope.parquet") == []


def test_a_broker_down_at_submit_fails_fast_with_one_line_and_records_nothing(cluster: Cluster):
    source = cluster.put_input("in/small.parquet", scored_input(500, seed=16, prefix="small"))
    closed = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    env = cluster.cli.env | {"FRAUD_BROKER_URL": closed}
    command = [
        FRAUD,
        "batch",
        "submit",
        source,
        f"s3://{cluster.bucket}/out/down.parquet",
        "--job-id",
        "down-1",
    ]
    # The timeout is the requirement: the command must give up within seconds, not minutes (the CLI alone
    # takes 3-6 s to start here, more on a busy machine).
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=45)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: message broker redis://:**@127.0.0.1:{closed.rsplit(':', 1)[1]}")
    assert "hunter2" not in result.stderr + result.stdout
    assert cluster.keys("work/jobs/down-1/") == []


def test_a_job_whose_tasks_the_broker_lost_is_queued_again_by_the_workers_themselves(cluster: Cluster):
    """A Redis that restarts without its data after a submit: the job is recorded, its message gone. The
    workers' sweepers find it (open, nothing queued, no progress in two looks) and one queues it again."""
    logs = lambda: "".join(w.text() for w in cluster.workers.values())  # noqa: E731
    # Every job of the module so far ran with the sweepers on: none was taken for a stalled one.
    assert "queued again" not in logs()
    cluster.stop_workers(*cluster.workers)
    source = scored_input(30_000, seed=17, prefix="lost")
    cluster.submit(cluster.put_input("in/lost.parquet", source), "out/lost.parquet", "lost-1")
    redis_client = redis.Redis.from_url(cluster.settings.broker_url)
    assert redis_client.delete(QUEUE) == 1  # the prepare message, lost
    cluster.start_workers(*cluster.workers)

    status = cluster.wait("lost-1")

    assert (status.state, status.rows_scored) == (JobState.SUCCEEDED, 30_000)
    assert_complete_output(cluster.output("out/lost.parquet"), source)
    assert logs().count("job lost-1 had nothing queued and made no progress: queued again") == 1
    resumed = sum(w.metrics().get("fraud_batch_jobs_resumed_total", 0.0) for w in cluster.workers.values())
    assert resumed == 1


def test_without_a_broker_the_cli_runs_the_job_itself_with_a_progress_bar(tmp_path: Path, champion_uri: str):
    cli = make_cli(
        tmp_path,
        MLFLOW_TRACKING_URI=champion_uri,
        FRAUD_MODEL_COMPILE="false",
        FRAUD_BATCH_CHUNK_ROWS="2000",
        TTY_INTERACTIVE="1",  # rich draws its live progress bar although stderr is a pipe
        TTY_COMPATIBLE="1",
    )
    source = scored_input(12_000, seed=17, prefix="embedded")
    inputs = tmp_path / "batch" / "in"  # the default roots: <home>/batch/in and <home>/batch/out
    inputs.mkdir(parents=True)
    source.to_csv(inputs / "in.csv", index=False)

    # Relative paths are resolved against the submitter's folder, then must sit under the roots.
    command = [FRAUD, "batch", "submit", "in.csv", "../out/out.parquet", "--job-id", "embedded-1"]
    result = cli.run(command, cwd=inputs, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "no FRAUD_BROKER_URL: the job runs in this process" in result.stderr
    assert re.search(r"job embedded-1.* rows", result.stderr)  # the progress bar's line
    stdout = plain(result.stdout)
    assert "embedded-1: succeeded, 12,000/12,000 rows, 6/6 chunks, model v1" in stdout
    assert_complete_output(pd.read_parquet(tmp_path / "batch" / "out" / "out.parquet"), source)


def as_from_a_terminal() -> None:
    """In the child: SIGINT handled and deliverable, as a shell at a terminal starts a command. The runner's
    own disposition is inherited otherwise (ignored under a background `make test`, or blocked), and the
    command then rightly ignores Ctrl-C: seen as a job that ran to its end in the whole suite."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.parametrize(
    ("signum", "verb"),
    [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_during_a_job_the_cli_runs_itself_cancels_it_and_exits_130(
    tmp_path: Path, champion_uri: str, signum: int, verb: str
):
    """SIGINT to the command's process group once its first chunks are scored, as a terminal sends it.
    Before, the command exited under its job, which its thread then failed as `internal`: "cannot schedule
    new futures after interpreter shutdown". SIGTERM (a container stop) cancels it too, exit 143; before, it
    killed the command and left the job open."""
    cli = make_cli(
        tmp_path,
        MLFLOW_TRACKING_URI=champion_uri,
        FRAUD_MODEL_COMPILE="false",
        FRAUD_BATCH_CHUNK_ROWS="1000",  # 200 chunks: seconds to go when the first are scored, under load too
        TTY_INTERACTIVE="1",  # the progress bar says how many rows are scored
        TTY_COMPATIBLE="1",
    )
    inputs = tmp_path / "batch" / "in"
    inputs.mkdir(parents=True)
    scored_input(200_000, seed=23, prefix="stop").to_parquet(inputs / "in.parquet")
    command = [FRAUD, "batch", "submit", "in.parquet", "../out/out.parquet", "--job-id", "stop-1"]
    process = subprocess.Popen(
        command,
        env=cli.env,
        cwd=inputs,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=as_from_a_terminal,
    )
    try:
        assert process.stderr is not None
        seen = b""
        while not re.search(rb" [1-9][\d,]* rows", seen):  # a chunk scored: the job is under way
            chunk = process.stderr.read1(4096)
            assert chunk, "the command ended before its first chunk was scored:\n" + seen.decode()
            seen += chunk
        os.killpg(process.pid, signum)
        out, err = process.communicate(timeout=60)  # seconds: far above the one chunk it waits for
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stderr = (seen + err).decode()
    assert process.returncode == 128 + signum, stderr
    assert f"{verb}: cancelling job stop-1" in stderr
    assert "cannot schedule new futures" not in stderr
    assert "Traceback" not in stderr
    assert re.search(r"stop-1: cancelled, [\d,]+/200,000 rows", plain(out.decode()))
    assert plain(cli("batch", "status", "stop-1").stdout).startswith("stop-1: cancelled")
    assert not (tmp_path / "batch" / "out" / "out.parquet").exists()


def test_a_job_the_cli_runs_itself_fails_with_its_reason_on_stderr_and_exit_2(
    tmp_path: Path, champion_uri: str
):
    """The status line goes to stdout; the reason ends stderr, with exit 2 (stdout repeated it)."""
    cli = make_cli(tmp_path, MLFLOW_TRACKING_URI=champion_uri, FRAUD_MODEL_COMPILE="false")
    inputs = tmp_path / "batch" / "in"
    inputs.mkdir(parents=True)
    scored_input(100, seed=19, prefix="cols").drop(columns=["V7"]).to_csv(inputs / "in.csv", index=False)

    command = [FRAUD, "batch", "submit", "in.csv", "../out/out.parquet", "--job-id", "embedded-bad"]
    result = cli.run(command, cwd=inputs, timeout=120)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "embedded-bad: failed" in result.stdout
    assert "missing columns" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: job embedded-bad failed: ")
    assert "missing columns ['V7']" in last
    assert not (tmp_path / "batch" / "out" / "out.parquet").exists()


def test_the_cli_refuses_jobs_outside_the_roots_with_exit_2(tmp_path: Path, champion_uri: str):
    """Each attack now ends in one line on stderr and exit code 2; nothing is overwritten or recorded."""
    cli = make_cli(tmp_path, MLFLOW_TRACKING_URI=champion_uri, FRAUD_MODEL_COMPILE="false")
    inputs, outputs = tmp_path / "batch" / "in", tmp_path / "batch" / "out"
    inputs.mkdir(parents=True)
    outputs.mkdir(parents=True)
    scored_input(100, seed=18, prefix="cli").to_csv(inputs / "in.csv", index=False)
    victim = tmp_path / "mlflow.db"  # stands for any of FRAUD_HOME's state
    victim.write_bytes(b"registry")
    (outputs / "planted.parquet").symlink_to(victim)
    taken = outputs / "taken.parquet"
    taken.write_bytes(b"earlier results")
    source = str(inputs / "in.csv")
    attacks = {
        "outside": (source, str(tmp_path.parent / "x.parquet")),
        "state": (source, str(victim)),
        "dotdot": (source, f"{outputs}/../../mlflow.db"),
        "symlink": (source, str(outputs / "planted.parquet")),  # resolved by the CLI: FRAUD_HOME's state
        "s3": (source, "s3://somebody-else/x.parquet"),
        "exists": (str(victim), str(outputs / "o1.parquet")),  # input existence oracle: a file that exists
        "missing": (str(tmp_path / "no-such.db"), str(outputs / "o2.parquet")),  # ... and one that does not
    }
    answers = {}
    for name, (input_uri, output_uri) in attacks.items():
        result = cli("batch", "submit", input_uri, output_uri, "--job-id", f"attack-{name}", timeout=60)
        assert result.returncode == 2, (name, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert "not found or not allowed" in lines[0], (name, result.stderr)
        answers[name] = lines[0].replace(input_uri, "<input>")
    assert answers["exists"] == answers["missing"]
    assert victim.read_bytes() == b"registry"
    assert sorted(p.name for p in outputs.iterdir()) == ["planted.parquet", "taken.parquet"]
    assert not list(tmp_path.glob("store/jobs/attack-*"))  # nothing recorded

    result = cli("batch", "submit", source, str(taken), "--job-id", "overwrite", timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()  # the job ran in this process: its error told once
    assert lines == [
        "no FRAUD_BROKER_URL: the job runs in this process",
        f"error: job overwrite failed: output '{taken}' already exists (outputs are never overwritten: "
        "choose a new name)",
    ], result.stderr
    assert taken.read_bytes() == b"earlier results"
    ended = cli("batch", "cancel", "overwrite", timeout=60)
    assert ended.returncode == 0, ended.stderr
    assert "overwrite: failed" in ended.stdout
    assert "nothing to cancel: job overwrite had already failed" in ended.stderr


def test_a_worker_needs_a_broker(tmp_path: Path):
    result = make_cli(tmp_path)("worker", timeout=60)
    assert result.returncode == 2
    assert "FRAUD_BROKER_URL is not set" in result.stderr


RELATIVE_DB = 4  # the cluster uses 3, the dashboards test 7: a queue of this test's own


@pytest.mark.integration
def test_a_relative_path_is_the_submitters_not_the_workers(tmp_path: Path, redis_server, champion_uri: str):
    """`fraud batch submit in.csv ...` from the inputs folder, scored by a Celery worker started in another
    folder: the CLI resolves the paths where it runs, so the worker opens the file the submitter meant."""
    home = tmp_path / "home"
    cli = make_cli(
        home,
        MLFLOW_TRACKING_URI=champion_uri,
        FRAUD_MODEL_COMPILE="false",
        FRAUD_BROKER_URL=redis_server.url(RELATIVE_DB),
        FRAUD_BATCH_CHUNK_ROWS="2000",
    )
    inputs = home / "batch" / "in"  # the default roots: <home>/batch/in and <home>/batch/out
    inputs.mkdir(parents=True)
    source = scored_input(5_000, seed=19, prefix="relative")
    source.to_csv(inputs / "in.csv", index=False)
    elsewhere = tmp_path / "worker-cwd"  # holds no in.csv: a path resolved here would not be found
    elsewhere.mkdir()
    log = tmp_path / "worker.log"
    command = [FRAUD, "worker", "--metrics-host", "127.0.0.1", "--metrics-port", str(free_port())]
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            command, env=cli.env, cwd=elsewhere, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while " ready." not in log.read_text(errors="replace"):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)

        submit = [
            FRAUD,
            "batch",
            "submit",
            "in.csv",
            "../out/out.parquet",
            "--job-id",
            "relative-1",
            "--wait",
        ]
        result = cli.run(submit, cwd=inputs, timeout=180)

        assert result.returncode == 0, result.stderr + log.read_text()[-3000:]
        assert "no FRAUD_BROKER_URL" not in result.stderr  # the worker scored it, not the CLI
        assert "relative-1: succeeded, 5,000/5,000 rows" in result.stdout
        assert f"output: {(home / 'batch' / 'out' / 'out.parquet').resolve()}" in result.stdout
        assert_complete_output(pd.read_parquet(home / "batch" / "out" / "out.parquet"), source)
        assert "job relative-1: succeeded" in log.read_text()
    finally:
        stop(worker, grace=20)
