"""`fraud batch cancel` and `resume` say what they did. Cancel: cancelled, nothing to cancel (the job had
ended, a cancelled one included: it printed the old "cancelled by request" as if it had just cancelled it),
or too late (the last step is writing the output, and decides). Resume: queued again, nothing to
resume, or refused while a step of the job runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraud_detection.domain.jobs import JobMark, JobRequest
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.local.object_store import LocalObjectStore
from tests.e2e.conftest import make_cli
from tests.e2e.serving import copy_home

pytestmark = pytest.mark.e2e


def recorded(home: Path, job_id: str) -> ObjectStoreJobStore:
    """A job as `fraud batch submit` records it, its steps not run (no broker needed to cancel)."""
    store = ObjectStoreJobStore(LocalObjectStore(home / "store"))
    out = home / "batch" / "out" / f"{job_id}.parquet"
    store.create(JobRequest(job_id, "/in/x.parquet", str(out), "champion", "2026-12-05T00:00:00+00:00"))
    return store


def test_cancel_says_what_it_did(tmp_path: Path):
    cli = make_cli(tmp_path)
    recorded(tmp_path, "queued-1")
    first = cli("batch", "cancel", "queued-1", timeout=60)
    assert first.returncode == 0, first.stderr
    assert "queued-1: cancelled" in first.stdout
    assert "reason: cancelled by request" in first.stdout  # printed as "error:", with exit 0
    assert "error" not in first.stdout + first.stderr
    assert "nothing to cancel" not in first.stderr
    again = cli("batch", "cancel", "queued-1", timeout=60)
    assert again.returncode == 0, again.stderr
    assert "nothing to cancel: job queued-1 had already cancelled" in again.stderr


def test_a_cancel_during_the_commit_says_it_is_too_late(tmp_path: Path):
    store = recorded(tmp_path, "committing-1")
    store.mark("committing-1", JobMark.COMMITTING)
    result = make_cli(tmp_path)("batch", "cancel", "committing-1", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "committing-1: queued" in result.stdout  # left as it was: the commit decides
    assert "too late to cancel: job committing-1 is writing its output" in result.stderr
    assert store.has_mark("committing-1", JobMark.CANCEL_REQUESTED)  # for a commit yet to look


def test_resume_runs_a_stalled_job_to_its_end(tmp_path: Path, trained_home: Path):
    """A job recorded whose tasks never ran (lost with a broker, or with the process that ran it)."""
    cli = copy_home(trained_home, tmp_path / "home")
    home = tmp_path / "home"
    source = home / "batch" / "in" / "day.parquet"
    generated = cli("data", "generate", "--rows", "3000", "--output", str(source), timeout=120)
    assert generated.returncode == 0, generated.stderr
    target = home / "batch" / "out" / "day-scores.parquet"
    store = ObjectStoreJobStore(LocalObjectStore(home / "store"))
    store.create(JobRequest("stalled-1", str(source), str(target), "champion", "2026-12-05T00:00:00+00:00"))
    resumed = cli("batch", "resume", "stalled-1", timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert "job stalled-1 queued again" in resumed.stderr
    assert "stalled-1: succeeded, 3,000/3,000 rows" in resumed.stdout
    assert target.is_file()
    again = cli("batch", "resume", "stalled-1", timeout=60)
    assert again.returncode == 0, again.stderr
    assert "nothing to resume: job stalled-1 had already succeeded" in again.stderr


def test_resume_refuses_a_job_whose_step_is_running(tmp_path: Path):
    """A resume of a job a live process was scoring queued it again: its work was done twice."""
    cli = make_cli(tmp_path)
    store = recorded(tmp_path, "busy-1")
    store.begin_run("busy-1", "prepare")  # its mark fresh: the process running the step is alive
    refused = cli("batch", "resume", "busy-1", timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert "error: job busy-1 is being worked on: its step 'prepare' renewed its run mark" in refused.stderr
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "job busy-1 queued again" not in refused.stderr
