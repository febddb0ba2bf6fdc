"""`fraud batch cancel` says what it did: cancelled, nothing to cancel (the job had ended, a cancelled one
included: it printed the old "cancelled by request" as if it had just cancelled it), or too late (the last
step is writing the output, and decides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraud_detection.domain.jobs import JobMark, JobRequest
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.local.object_store import LocalObjectStore
from tests.e2e.conftest import make_cli

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
