"""A followed job's status read through a storage outage: the follower waits, says so, and gives up only
after its patience (the job goes on without it)."""

from __future__ import annotations

import pytest

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.entrypoints.cli.status_reads import PatientStatusReads


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def reads(outcomes: list[object]):
    """A status read answering `outcomes` in turn: an exception is raised, anything else returned."""
    calls: list[str] = []

    def read(job_id: str):
        calls.append(job_id)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return read, calls


def test_an_outage_shorter_than_the_patience_is_waited_out_and_said_once_each_way():
    clock, said = Clock(), []
    down = ServiceUnavailableError("cannot read s3://b/jobs/j1/request.json: Read timeout")
    read, calls = reads([down, down, down, "status"])
    patient = PatientStatusReads(
        read, said.append, patience=60, retry_seconds=5, clock=clock, sleep=clock.sleep
    )
    assert patient("j1") == "status"
    assert calls == ["j1"] * 4
    assert clock.now == 15
    assert len(said) == 2
    assert said[0].startswith("job j1: cannot read its status (cannot read s3://b/jobs/j1/request.json")
    assert "keeps following it for up to 60 s" in said[0]
    assert said[1] == "job j1: status readable again after 15 s"


def test_an_outage_longer_than_the_patience_ends_the_follow_naming_the_job():
    clock, said = Clock(), []
    read, _ = reads([ServiceUnavailableError("S3 down")] * 100)
    patient = PatientStatusReads(
        read, said.append, patience=20, retry_seconds=5, clock=clock, sleep=clock.sleep
    )
    with pytest.raises(ServiceUnavailableError) as stopped:
        patient("j2")
    assert clock.now == 20
    assert str(stopped.value).startswith("S3 down; the status of job j2 stayed unreadable for 20 s")
    assert "`fraud batch status j2`" in str(stopped.value)
    assert len(said) == 1


def test_each_outage_gets_the_whole_patience_and_other_errors_are_not_waited_for():
    clock, said = Clock(), []
    down = ServiceUnavailableError("down")
    read, _ = reads([down, down, "a", down, down, "b", KeyError("no such job")])
    patient = PatientStatusReads(
        read, said.append, patience=10, retry_seconds=5, clock=clock, sleep=clock.sleep
    )
    assert patient("j3") == "a"
    assert patient("j3") == "b"  # timed from its own start: 5 s, where 15 s since the first would give up
    with pytest.raises(KeyError):
        patient("j3")
    assert len(said) == 4
