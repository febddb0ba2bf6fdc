"""The embedded job queue on its real threads: what it holds, as a sweep and a follower see it."""

import threading

import pytest

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import JobState
from fraud_detection.infrastructure.local.in_process_jobs import InProcessJobQueue

pytestmark = pytest.mark.integration


def test_a_sweep_sees_the_jobs_held_here_as_waiting_work_and_no_others():
    release = threading.Event()

    def run(job_id: str, stop: threading.Event) -> JobState:
        release.wait(10)
        return JobState.SUCCEEDED

    queue = InProcessJobQueue(run)
    queue.enqueue("running")
    queue.enqueue("waiting")  # one job at a time: behind the first
    work = queue.queued_work()
    assert work.waiting == {"running": frozenset({"run"}), "waiting": frozenset({"run"})}
    assert work.held == {}
    release.set()
    assert queue.wait("waiting", timeout=10) is JobState.SUCCEEDED
    assert queue.queued_work().waiting == {}


def test_a_run_that_could_not_record_its_end_is_held_until_it_runs_again():
    runs: list[str] = []
    ran_again = threading.Event()

    def run(job_id: str, stop: threading.Event) -> JobState:
        runs.append(job_id)
        if len(runs) == 1:
            raise ServiceUnavailableError("cannot write s3://b/jobs/j/outcome.json: Read timeout")
        ran_again.set()
        return JobState.SUCCEEDED

    queue = InProcessJobQueue(run, rerun_after=0.5)
    queue.enqueue("j")
    with pytest.raises(ServiceUnavailableError):
        queue.wait("j", timeout=10)
    assert queue.holds("j")  # due to run again: a sweep must not queue it a second time
    assert queue.queued_work().waiting == {"j": frozenset({"run"})}
    assert ran_again.wait(10)
    assert queue.wait("j", timeout=10) is JobState.SUCCEEDED
    assert runs == ["j", "j"]
    assert not queue.holds("j")


def test_without_rerun_a_run_that_could_not_record_its_end_is_let_go():
    def run(job_id: str, stop: threading.Event) -> JobState:
        raise ServiceUnavailableError("down")

    queue = InProcessJobQueue(run)
    queue.enqueue("j")
    with pytest.raises(ServiceUnavailableError):
        queue.wait("j", timeout=10)
    assert not queue.holds("j")
    assert queue.queued_work().waiting == {}


def test_a_cancel_sets_the_stop_of_that_jobs_run_only():
    started = {"a": threading.Event(), "b": threading.Event()}
    stops: dict[str, threading.Event] = {}

    def run(job_id: str, stop: threading.Event) -> JobState:
        stops[job_id] = stop
        started[job_id].set()
        return JobState.CANCELLED if stop.wait(10) else JobState.SUCCEEDED

    queue = InProcessJobQueue(run)
    queue.enqueue("a")
    assert started["a"].wait(10)
    queue.cancel("a")
    assert queue.wait("a", timeout=2) is JobState.CANCELLED  # at once, not after the run's 10 s wait
    queue.enqueue("b")
    assert started["b"].wait(10)
    queue.cancel("a")  # a job already ended: nothing reaches b's run
    assert not stops["b"].is_set()
    queue.cancel("b")
    assert queue.wait("b", timeout=2) is JobState.CANCELLED


def test_a_cancel_drops_a_pending_rerun():
    runs: list[str] = []

    def run(job_id: str, stop: threading.Event) -> JobState:
        runs.append(job_id)
        raise ServiceUnavailableError("down")

    queue = InProcessJobQueue(run, rerun_after=0.3)
    queue.enqueue("j")
    with pytest.raises(ServiceUnavailableError):
        queue.wait("j", timeout=10)
    assert queue.holds("j")
    queue.cancel("j")  # the cancel recorded the job's end: nothing is left to run again
    assert not queue.holds("j")
    threading.Event().wait(0.8)
    assert runs == ["j"]


def test_runs_that_ended_are_let_go_when_the_next_job_comes():
    """Before, the API's queue kept a future and an event for every job it had ever run."""
    queue = InProcessJobQueue(lambda job_id, stop: JobState.SUCCEEDED)
    for n in range(50):
        queue.enqueue(f"j{n}")
        assert queue.wait(f"j{n}", timeout=10) is JobState.SUCCEEDED
    assert len(queue._futures) == len(queue._stops) == 1  # the last one, which its caller may still wait for


def test_a_job_queued_again_while_its_run_lives_shares_that_runs_stop():
    """A resume queued behind a run waiting out an outage: the cancel reached only the newer run before."""
    started, heard = threading.Event(), threading.Event()

    def run(job_id: str, stop: threading.Event) -> JobState:
        started.set()
        if stop.wait(10):
            heard.set()
            return JobState.CANCELLED
        return JobState.SUCCEEDED

    queue = InProcessJobQueue(run)
    queue.enqueue("j")
    assert started.wait(10)
    queue.enqueue("j")  # `fraud batch resume` while the first run still waits
    queue.cancel("j")
    assert heard.wait(2)  # the first run heard it at once, not at the end of its 10 s wait
    assert queue.wait("j", timeout=5) is None  # the queued one never started
