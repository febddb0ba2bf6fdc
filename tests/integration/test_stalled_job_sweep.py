"""Looking for stalled jobs over the real job records (a local store) and a real Redis: the index of open
jobs, the digest of a job's progress, the one claim per stalled point, and `fraud batch sweep`."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import pytest
import redis
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.jobs import JobRequest, JobState
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.infrastructure.celery.names import QUEUE
from fraud_detection.infrastructure.documents.job_records import BACKFILLED, OPEN_PREFIX, ObjectStoreJobStore
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.settings import Settings
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.integration
SWEEP_DB = 3


def request(job_id: str) -> JobRequest:
    return JobRequest(job_id, "in.csv", f"{job_id}.parquet", "champion", "2026-12-05T00:00:00+00:00")


def test_open_jobs_are_indexed_from_their_record_until_their_outcome(tmp_path):
    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    for job_id in ("a", "b", "c", "ab"):
        jobs.create(request(job_id))
    jobs.finish("b", JobState.SUCCEEDED)
    jobs.delete("c")  # a submission the broker refused
    assert sorted(jobs.open_jobs()) == ["a", "ab"]
    assert sorted(store.list_keys(OPEN_PREFIX)) == [f"{OPEN_PREFIX}a.json", f"{OPEN_PREFIX}ab.json"]
    # A finish that stopped between its outcome and the index: the entry goes when its progress is asked.
    store.write_bytes("jobs/a/outcome.json", json.dumps({"state": "failed", "error": "x"}).encode())
    assert sorted(jobs.open_jobs()) == ["a", "ab"]
    jobs.progress("a")
    jobs.progress("ab")
    assert list(jobs.open_jobs()) == ["ab"]


def test_jobs_a_version_from_before_the_index_left_open_are_indexed_once(tmp_path):
    """Such a version never wrote index entries, so a job it left open was never swept after an upgrade:
    it stayed `running` for ever (seen upgrading from e49e0f9)."""
    store = LocalObjectStore(tmp_path)
    for job_id in ("old-open", "old-done"):  # as the old version recorded them: no index entry
        store.write_bytes(f"jobs/{job_id}/request.json", json.dumps(asdict(request(job_id))).encode())
        store.write_bytes(f"jobs/{job_id}/plan.json", b"{}")
    store.write_bytes(
        "jobs/old-done/outcome.json", json.dumps({"state": "succeeded", "error": None}).encode()
    )
    jobs = ObjectStoreJobStore(store)
    jobs.create(request("new-open"))
    assert sorted(jobs.open_jobs()) == ["new-open", "old-open"]
    assert store.exists(BACKFILLED)
    store.write_bytes("jobs/later/request.json", json.dumps(asdict(request("later"))).encode())
    assert sorted(ObjectStoreJobStore(store).open_jobs()) == ["new-open", "old-open"]  # once per store


def test_a_job_is_never_readable_without_its_owner(tmp_path):
    """The request was written before the owner: between the two (or for good, when the owner's write
    failed) the job read as one from before owners, so any client could read and cancel it."""
    from fraud_detection.domain.errors import JobExistsError, JobNotFoundError

    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    created = store.create_bytes
    seen: list[str] = []

    def watched(key: str, data: bytes) -> bool:
        if key.endswith("request.json"):  # the moment before the request: the owner is already there
            seen.append(str(jobs.owner("acme-1")))
        return created(key, data)

    store.create_bytes = watched  # type: ignore[method-assign]
    jobs.create(request("acme-1"), "acme")
    assert seen == ["acme"]
    assert jobs.owner("acme-1") == "acme"
    with pytest.raises(JobExistsError):
        jobs.create(request("acme-1"), "evil")  # another owner: the id is taken
    assert jobs.owner("acme-1") == "acme"

    def owner_refused(key: str, data: bytes) -> bool:
        raise OSError("the store refused the write")

    store.create_bytes = owner_refused  # type: ignore[method-assign]
    with pytest.raises(OSError, match="refused the write"):
        jobs.create(request("acme-2"), "acme")
    with pytest.raises(JobNotFoundError):
        jobs.request("acme-2")  # nothing readable was left


def test_a_job_from_before_owners_keeps_its_id_and_stays_ownerless(tmp_path):
    from fraud_detection.domain.errors import JobExistsError

    store = LocalObjectStore(tmp_path)
    store.write_bytes("jobs/old/request.json", json.dumps(asdict(request("old"))).encode())
    jobs = ObjectStoreJobStore(store)
    with pytest.raises(JobExistsError):
        jobs.create(request("old"), "acme")
    assert jobs.owner("old") is None


def test_an_owner_claim_left_without_a_request_blocks_the_id_for_others_only(tmp_path):
    from fraud_detection.domain.errors import JobExistsError

    store = LocalObjectStore(tmp_path)
    store.write_bytes("jobs/half/owner.json", json.dumps({"namespace": "acme"}).encode())  # stopped there
    jobs = ObjectStoreJobStore(store)
    with pytest.raises(JobExistsError):
        jobs.create(request("half"), "evil")
    jobs.create(request("half"), "acme")
    assert jobs.request("half").job_id == "half"


def test_progress_changes_with_what_steps_record_and_one_claim_is_granted_per_point(tmp_path):
    jobs = ObjectStoreJobStore(LocalObjectStore(tmp_path))
    jobs.create(request("j"))
    jobs.create(request("j2"))  # another job's records are not this one's progress
    start = jobs.progress("j")
    token, _ = jobs.begin_run("j", "prepare")
    running = jobs.progress("j")
    assert running != start
    jobs.end_run("j", "prepare", token)
    assert jobs.progress("j") == start  # a run that recorded nothing
    jobs.mark_chunk_done("j2", 0, 10)
    assert jobs.progress("j") == start
    assert jobs.claim_resume("j", start) is True
    assert jobs.progress("j") == start  # the claim is the sweeper's, not progress
    assert jobs.claim_resume("j", start) is False
    jobs.release_resume("j", start)
    assert jobs.claim_resume("j", start) is True
    token, _ = jobs.begin_run("j", "chunk 12")
    assert list(jobs.runs_under_way("j")) == ["chunk 12"]
    jobs.end_run("j", "chunk 12", token)
    assert jobs.runs_under_way("j") == {}
    jobs.mark_chunk_done("j", 3, 10)
    assert jobs.progress("j") != start
    assert jobs.done_chunks("j") == {3}
    assert jobs.claim_resume("j", jobs.progress("j")) is True


def test_a_renewed_run_mark_keeps_its_name_and_reports_its_latest_time(tmp_path):
    """Renewing rewrites the mark under its name (no progress: a sweep must not read a running step as
    movement), and a step's time is its latest run's; a mark of a version that wrote no time is now."""
    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    jobs.create(request("j"))
    old, _ = jobs.begin_run("j", "chunk 1")
    store.write_bytes(
        f"jobs/j/runs/chunk-1/{old}.json", json.dumps({"at": "2026-12-07T01:00:00+00:00"}).encode()
    )
    assert jobs.runs_under_way("j") == {"chunk 1": datetime(2026, 12, 7, 1, 0, tzinfo=UTC)}
    before = jobs.progress("j")
    newer, _ = jobs.begin_run("j", "chunk 1")
    store.write_bytes(
        f"jobs/j/runs/chunk-1/{newer}.json", json.dumps({"at": "2026-12-07T02:00:00+00:00"}).encode()
    )
    assert jobs.runs_under_way("j") == {"chunk 1": datetime(2026, 12, 7, 2, 0, tzinfo=UTC)}
    moment = datetime.now(UTC)
    jobs.renew_run("j", "chunk 1", old)
    assert jobs.runs_under_way("j")["chunk 1"] >= moment
    assert jobs.progress("j") != before  # the second run began
    after_renewal = jobs.progress("j")
    jobs.renew_run("j", "chunk 1", newer)
    assert jobs.progress("j") == after_renewal
    store.write_bytes("jobs/j/runs/prepare/0123.json", b"{}")  # no time: taken as renewed now
    assert jobs.runs_under_way("j")["prepare"] >= moment


@pytest.fixture
def swept(redis_server, tmp_path):
    settings = Settings(home=tmp_path, broker_url=redis_server.url(SWEEP_DB))
    client = redis.Redis.from_url(redis_server.url(SWEEP_DB))
    client.flushdb()
    container = Container(settings)
    use_container(container)
    yield container, client
    use_container(None)
    client.flushdb()


def test_fraud_batch_sweep_queues_again_the_job_the_broker_lost_and_leaves_the_queued_one(swept):
    container, client = swept
    store, queue = container.adapters.job_store(), container.batch.job_queue()
    store.create(request("lost-1"))  # recorded, its message lost
    store.create(request("waiting-1"))
    queue.enqueue("waiting-1")
    result = CliRunner().invoke(app, ["batch", "sweep", "--seconds", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["lost-1"]
    assert "1 job(s) queued again" in result.stderr
    ids = sorted(json.loads(raw)["headers"]["id"] for raw in client.lrange(QUEUE, 0, -1))
    assert ids == ["lost-1.prepare", "waiting-1.prepare"]


def test_fraud_batch_sweep_needs_a_broker_that_answers(tmp_path):
    use_container(Container(Settings(home=tmp_path)))
    try:
        embedded = CliRunner().invoke(app, ["batch", "sweep", "--seconds", "1"])
        assert embedded.exit_code == 2
        assert "no FRAUD_BROKER_URL" in embedded.stderr
        port = free_port()
        broker = f"redis://:s3cret@127.0.0.1:{port}/0"
        use_container(Container(Settings(home=tmp_path, broker_url=broker)))
        down = CliRunner().invoke(app, ["batch", "sweep", "--seconds", "1"])
        assert down.exit_code == 1
        # The broker named, as every other command names it (the sweep said only "the broker"), masked
        assert f"message broker redis://:**@127.0.0.1:{port}/0 could not be asked which jobs" in down.stderr
        assert "s3cret" not in down.output
        assert "Traceback" not in down.output
    finally:
        use_container(None)


@pytest.mark.parametrize("seconds", ["1e10", "inf", "0.5"])
def test_fraud_batch_sweep_refuses_a_wait_it_cannot_make(seconds):
    """`--seconds 1e10` ended in an OverflowError traceback from time.sleep after the first look."""
    result = CliRunner().invoke(app, ["batch", "sweep", "--seconds", seconds])
    assert result.exit_code == 2
    assert "Invalid value for '--seconds'" in result.output  # refused before any look at the broker
    assert "Traceback" not in result.output
