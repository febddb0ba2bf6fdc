"""Stalled jobs on fakes: which open jobs a sweep queues again, once, and which it leaves alone."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from fraud_detection.application.batch.stalled import Look, StalledJobs
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import Chunk, JobPlan, JobRequest, JobState
from tests.fakes import FakeJobQueue, FakeJobStore
from tests.waiting import wait_until


class Jobs:
    def __init__(self) -> None:
        self.store, self.queue = FakeJobStore(), FakeJobQueue()
        self.stalled = StalledJobs(self.store, self.queue)

    def open(self, job_id: str) -> None:
        self.store.create(JobRequest(job_id, "/in/a.parquet", f"/out/{job_id}.parquet", "champion", "now"))

    def two_looks(self, between=lambda: None):
        first = self.stalled.look()
        between()
        return self.stalled.sweep(first)


@pytest.fixture
def jobs() -> Jobs:
    return Jobs()


def test_a_job_with_nothing_queued_and_no_progress_is_queued_again_once(jobs):
    jobs.open("lost")
    sweep = jobs.two_looks()
    assert sweep.resumed == ("lost",)
    assert jobs.queue.enqueued == ["lost"]
    # Its tasks are lost again at the same point: not queued a third time; reported a look later.
    again = jobs.stalled.sweep(sweep.look)
    assert (again.resumed, again.stuck, jobs.queue.enqueued) == ((), (), ["lost"])
    assert jobs.stalled.sweep(again.look).stuck == ("lost",)


def test_a_job_with_a_task_in_the_queue_is_left_alone(jobs):
    jobs.open("waiting")
    jobs.queue.work = {"waiting": frozenset({"prepare"})}
    assert jobs.two_looks().resumed == ()
    assert jobs.queue.enqueued == []


def test_a_task_held_by_a_worker_counts_only_while_its_step_has_a_run_under_way(jobs):
    """Held without a run: an entry no worker has (a chunk never handed to its task after a Redis stall, or
    one that ran and whose acknowledgement a Redis restart lost), which hid the job for an hour."""
    jobs.open("held")
    chunks = (Chunk(0, "k0", 10, 0), Chunk(1, "k1", 10, 10))
    jobs.store.save_plan("held", JobPlan("m", 1, 0.5, chunks, False))
    jobs.store.mark_chunk_done("held", 0, 10)
    jobs.queue.held = {"held": frozenset({"chunk 1"})}
    token, _ = jobs.store.begin_run("held", "chunk 1")
    assert jobs.two_looks().resumed == ()  # chunk 1 is being scored
    jobs.store.end_run("held", "chunk 1", token)
    assert jobs.two_looks().resumed == ("held",)


def test_a_job_idle_in_one_look_only_is_left_alone(jobs):
    """Busy in the first look (a task running), idle in the second: it may have just ended a step."""
    jobs.open("moving")
    jobs.queue.work = {"moving": frozenset({"chunk 0"})}
    first = jobs.stalled.look()
    jobs.queue.work = {}
    assert jobs.stalled.sweep(first).resumed == ()


def test_a_job_whose_records_changed_between_looks_is_left_alone(jobs):
    jobs.open("slow")
    chunks = (Chunk(0, "k0", 10, 0), Chunk(1, "k1", 10, 10))
    jobs.store.save_plan("slow", JobPlan("m", 1, 0.5, chunks, False))
    assert jobs.two_looks(lambda: jobs.store.mark_chunk_done("slow", 0, 10)).resumed == ()


def test_a_step_that_began_and_ended_between_looks_without_recording_anything_counts_as_no_progress(jobs):
    """A rerun that changes nothing (a run mark written, then removed) is not progress."""
    jobs.open("same")

    def run_and_end():
        token, _ = jobs.store.begin_run("same", "prepare")
        jobs.store.end_run("same", "prepare", token)

    assert jobs.two_looks(run_and_end).resumed == ("same",)


def test_ended_jobs_and_a_queue_that_cannot_tell_resume_nothing(jobs):
    jobs.open("done")
    jobs.open("ending")
    jobs.store.finish("done", JobState.SUCCEEDED)
    assert jobs.two_looks(lambda: jobs.store.finish("ending", JobState.CANCELLED)).resumed == ()
    jobs.open("unknown")
    jobs.queue.work = None
    first = jobs.stalled.look()
    assert first == Look(seen=False)
    assert jobs.stalled.sweep(first).resumed == ()
    assert jobs.queue.enqueued == []


def test_of_two_sweepers_one_queues_the_job(jobs):
    jobs.open("shared")
    other = StalledJobs(jobs.store, jobs.queue)
    first, first_other = jobs.stalled.look(), other.look()
    assert (jobs.stalled.sweep(first).resumed, other.sweep(first_other).resumed) == (("shared",), ())
    assert jobs.queue.enqueued == ["shared"]


def test_a_claim_the_broker_refused_is_released_for_a_later_sweep(jobs):
    jobs.open("refused")
    first = jobs.stalled.look()
    jobs.queue.down = True
    with pytest.raises(ServiceUnavailableError):
        jobs.stalled.sweep(first)
    jobs.queue.down = False
    assert jobs.stalled.sweep(first).resumed == ("refused",)


def test_a_held_task_whose_run_was_not_renewed_lost_its_worker():
    """A worker SIGKILLed mid-chunk: Redis holds its task until the visibility timeout (an hour) and its run
    mark stays. Before, that read as a chunk being scored and the job sat `running` for the hour."""
    clock = [datetime(2026, 12, 7, 3, 0, tzinfo=UTC)]
    jobs = Jobs()
    jobs.store.now = lambda: clock[0]
    jobs.stalled = StalledJobs(jobs.store, jobs.queue, clock=lambda: clock[0], run_lost_seconds=300)
    jobs.open("killed")
    jobs.store.save_plan(
        "killed", JobPlan("m", 1, 0.5, (Chunk(0, "k0", 10, 0), Chunk(1, "k1", 10, 10)), False)
    )
    jobs.queue.held = {"killed": frozenset({"chunk 1"})}
    token, _ = jobs.store.begin_run("killed", "chunk 1")
    clock[0] += timedelta(seconds=299)
    assert jobs.two_looks().resumed == ()  # within the margin: taken as running
    jobs.store.renew_run("killed", "chunk 1", token)  # a live worker renews it
    clock[0] += timedelta(seconds=299)
    assert jobs.two_looks().resumed == ()
    clock[0] += timedelta(seconds=1)  # not renewed for 300 s: its worker is gone
    assert jobs.two_looks().resumed == ("killed",)
    assert jobs.queue.enqueued == ["killed"]


def test_a_fresh_run_of_another_step_does_not_keep_a_dead_one_alive():
    clock = [datetime(2026, 12, 7, 3, 0, tzinfo=UTC)]
    jobs = Jobs()
    jobs.store.now = lambda: clock[0]
    jobs.stalled = StalledJobs(jobs.store, jobs.queue, clock=lambda: clock[0], run_lost_seconds=300)
    jobs.open("mixed")
    jobs.queue.held = {"mixed": frozenset({"chunk 0"})}
    jobs.store.begin_run("mixed", "chunk 0")
    clock[0] += timedelta(seconds=400)
    jobs.store.begin_run("mixed", "chunk 1")  # not held: a run the queue does not list
    assert jobs.two_looks().resumed == ("mixed",)


def test_a_running_step_renews_its_mark_until_it_ends():
    store = FakeJobStore()
    store.create(JobRequest("j", "/in/a.parquet", "/out/j.parquet", "champion", "now"))
    steps = JobSteps(store, files=None, models=None, rules=None, renew_seconds=0.01)  # type: ignore[arg-type]
    with steps._run("j", "chunk 0"):
        assert wait_until(lambda: len(store.renewals) >= 2, timeout=10)
    ended = len(store.renewals)
    assert store.runs_under_way("j") == {}
    time.sleep(0.1)  # ten intervals: a renewal after the end would bring the mark back
    assert len(store.renewals) == ended
    assert store.runs_under_way("j") == {}


def test_a_job_queued_again_scores_only_the_chunks_not_done():
    store = FakeJobStore()
    store.create(JobRequest("j", "/in/a.parquet", "/out/j.parquet", "champion", "now"))
    chunks = tuple(Chunk(i, f"k{i}", 10, 10 * i) for i in range(3))
    plan = JobPlan("m", 1, 0.5, chunks, False)
    store.save_plan("j", plan)
    store.mark_chunk_done("j", 1, 10)
    steps = JobSteps(store, files=None, models=None, rules=None)  # type: ignore[arg-type]
    assert [chunk.index for chunk in steps.chunks_to_score("j", plan)] == [0, 2]
    store.mark_chunk_done("j", 0, 10)
    store.mark_chunk_done("j", 2, 10)
    assert steps.chunks_to_score("j", plan) == ()


def test_a_workers_sweeper_counts_what_it_queues_again_and_reports_a_stuck_job_once(jobs, caplog):
    from prometheus_client import REGISTRY

    from fraud_detection.workers.sweeper import Sweeper

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    before = count("fraud_batch_jobs_resumed_total"), count("fraud_batch_jobs_stuck_total")
    sweeper = Sweeper(lambda: jobs.stalled, interval=60)
    jobs.open("lost")
    assert sweeper.once() == ()  # the first look only records
    assert sweeper.once() == ("lost",)
    for _ in range(4):  # its tasks keep being lost: reported once, not at every look
        assert sweeper.once() == ()
    assert count("fraud_batch_jobs_resumed_total") - before[0] == 1
    assert count("fraud_batch_jobs_stuck_total") - before[1] == 1
    assert sum("fraud batch resume lost" in record.getMessage() for record in caplog.records) == 1
