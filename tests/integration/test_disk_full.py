"""A full disk under a write (found by a disk-full probe on tmpfs): it read as bad input (exit 2, HTTP 422, a
job failed as `input`), and a job whose records were half-written stayed `queued` for good, its id taken.
The disk is filled by making the store's writes fail with ENOSPC, as a full tmpfs does."""

from __future__ import annotations

import errno
import os

import pytest
import typer

from fraud_detection.domain.errors import JobExistsError, StorageFullError
from fraud_detection.domain.jobs import FailureKind, JobRequest, failure_kind
from fraud_detection.entrypoints.cli.errors import user_errors
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.local import object_store as local_store

pytestmark = pytest.mark.integration

REQUEST = JobRequest("acme:day-1", "/in/in.csv", "/out/out.parquet", "champion", "2026-12-06T00:00:00+00:00")


def full_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    """The disk fills after `writes` more files are written."""
    fsync = os.fsync
    left = [writes]

    def fsync_or_full(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            return fsync(fd)  # a folder's entry, not data
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        left[0] -= 1
        return fsync(fd)

    monkeypatch.setattr(local_store.os, "fsync", fsync_or_full)


def test_a_full_disk_is_an_outage_to_retry_not_bad_input(tmp_path, monkeypatch, capsys):
    store = LocalObjectStore(tmp_path)
    full_after(monkeypatch, 0)
    with pytest.raises(StorageFullError, match="No space left on device") as raised:
        store.write_bytes("reports/x.json", b"{}")
    assert failure_kind(raised.value) is FailureKind.SERVICE  # a job's `error_kind`; `input` before
    with pytest.raises(typer.Exit) as exited, user_errors():
        raise raised.value
    assert exited.value.exit_code == 1  # 2 before: "fix your input"
    err = capsys.readouterr().err
    assert "free space on that disk and try again" in err
    assert "a service is down" not in err
    assert list(tmp_path.rglob("*.tmp")) == []  # no temporary file left


def test_a_job_whose_records_could_not_all_be_written_leaves_none(tmp_path, monkeypatch):
    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    full_after(monkeypatch, 2)  # the owner claim and the request are written, the open entry is not
    with pytest.raises(StorageFullError):
        jobs.create(REQUEST, "acme")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing half-written
    monkeypatch.undo()  # space freed: the same id is free again (409 before, the job never run)
    jobs.create(REQUEST, "acme")
    assert jobs.owner("acme:day-1") == "acme"
    assert list(jobs.open_jobs()) == ["acme:day-1"]
    with pytest.raises(JobExistsError):
        jobs.create(REQUEST, "acme")


def test_a_request_that_could_not_be_written_gives_the_id_back(tmp_path, monkeypatch):
    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    full_after(monkeypatch, 1)  # the owner claim only
    with pytest.raises(StorageFullError):
        jobs.create(REQUEST, "acme")
    assert jobs.owner("acme:day-1") is None


def test_a_request_whose_removal_failed_keeps_its_owner(tmp_path, monkeypatch):
    """The open entry failed and so did the rollback's delete of the request: the owner claim went anyway,
    and every client could read and cancel a request without an owner (a review found it)."""
    store = LocalObjectStore(tmp_path)
    jobs = ObjectStoreJobStore(store)
    full_after(monkeypatch, 2)
    delete = store.delete

    def delete_failing_on_the_request(key: str) -> None:
        if key.endswith("request.json"):
            raise OSError(errno.EIO, "Input/output error")
        delete(key)

    monkeypatch.setattr(store, "delete", delete_failing_on_the_request)
    with pytest.raises(StorageFullError):
        jobs.create(REQUEST, "acme")
    assert jobs.owner("acme:day-1") == "acme"  # None before: the request readable by every namespace


def test_a_full_scratch_disk_is_an_outage_not_an_internal_error(tmp_path, monkeypatch):
    """Chunks, staged inputs and outputs pass through the scratch folder: a full one failed the job as
    `internal` (not retried), and a scratch folder that could not be made as `input` (a review found it)."""
    import pyarrow as pa

    from fraud_detection.infrastructure.arrow.batch import work_files

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    store = LocalObjectStore(tmp_path / "store")
    with monkeypatch.context() as patched:
        patched.setattr(work_files.pa.ipc, "new_file", full)
        with pytest.raises(StorageFullError, match="scratch folder") as raised:
            work_files.store_table(store, "batch/x/parts/000001.arrow", pa.table({"a": [1]}), tmp_path / "s")
    assert failure_kind(raised.value) is FailureKind.SERVICE
    monkeypatch.setattr(work_files.Path, "mkdir", full)
    with pytest.raises(StorageFullError, match="cannot write scratch folder"):
        work_files.store_table(store, "batch/x/parts/000001.arrow", pa.table({"a": [1]}), tmp_path / "new")


def test_a_full_disk_under_the_clients_file_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    """`fraud clients add` on a full disk printed a bare "[Errno 28] No space left on device"."""
    from fraud_detection.domain.clients import ClientDirectory
    from fraud_detection.infrastructure.local.client_key_file import write_document

    path = tmp_path / "clients.json"
    path.write_text('{"clients": []}\n')
    full_after(monkeypatch, 0)
    with pytest.raises(StorageFullError, match=f"cannot write API clients file {path}: No space left"):
        write_document(path, ClientDirectory(()))
    assert path.read_text() == '{"clients": []}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["clients.json"]  # no temporary file left


def test_a_full_disk_under_the_feedback_store_says_so_and_a_held_lock_stays_an_outage(tmp_path, monkeypatch):
    """SQLite's "database or disk is full" reached the CLI as "a service is down or unreachable"."""
    import sqlite3

    from fraud_detection.domain.errors import ServiceUnavailableError
    from fraud_detection.infrastructure.sqlite import feedback_store

    store = feedback_store.SqliteFeedbackStore(tmp_path / "feedback.db", retention_days=180)
    connect = sqlite3.connect

    def failing(message: str):
        def connect_then_fail(*args, **kwargs):
            connection = connect(*args, **kwargs)

            class Failing:
                def execute(self, *a, **k):
                    raise sqlite3.OperationalError(message)

                def close(self):
                    connection.close()

            return Failing()

        return connect_then_fail

    monkeypatch.setattr(feedback_store.sqlite3, "connect", failing("database or disk is full"))
    with pytest.raises(StorageFullError, match=r"database or disk is full \(free space on that disk and try"):
        store.labels()
    monkeypatch.setattr(feedback_store.sqlite3, "connect", failing("disk I/O error"))
    with pytest.raises(StorageFullError, match=r"disk I/O error \(check that disk and try again\)"):
        store.labels()
    monkeypatch.setattr(feedback_store.sqlite3, "connect", failing("database is locked"))
    with pytest.raises(ServiceUnavailableError) as raised:
        store.labels()
    assert not isinstance(raised.value, StorageFullError)


def test_a_full_tracking_database_is_one_line_saying_so(capsys):
    """The probe's MLflow SQLite on a full tmpfs: a 4-line error (the SQL and its parameters) saying "a
    service is down or unreachable", after 8 tracebacks that MLflow logged at ERROR."""
    import sqlite3

    import sqlalchemy.exc

    from fraud_detection.entrypoints.cli.environment import QUIET_OFFLINE_DEFAULTS
    from fraud_detection.infrastructure.mlflow.connection import TrackingStoreUnavailableError, reaching

    cause = sqlite3.OperationalError("database or disk is full")
    statement = "INSERT INTO metrics (key, value)\nVALUES (?, ?)"
    with pytest.raises(StorageFullError) as raised, reaching("sqlite:////tmp/home/mlflow.db"):
        raise sqlalchemy.exc.OperationalError(statement, ("auprc", 0.8), cause)
    assert isinstance(
        raised.value, TrackingStoreUnavailableError
    )  # callers that expect an outage still see one
    with pytest.raises(typer.Exit) as exited, user_errors():
        raise raised.value
    err = capsys.readouterr().err
    assert exited.value.exit_code == 1
    assert err.count("\n") == 1
    assert "its database or disk is full (free space on that disk and try again)" in err
    assert QUIET_OFFLINE_DEFAULTS["MLFLOW_LOGGING_LEVEL"] == "CRITICAL"  # its own tracebacks unless --verbose


def test_a_disk_io_error_on_a_full_disk_says_to_free_space(tmp_path, monkeypatch, capsys):
    """SQLite's "disk I/O error" when its journal's write ran out of space (a disk-full probe under `fraud
    feedback import` and the MLflow store): "check that disk" sent the operator after a hardware fault, and
    MLflow's read "a service is down or unreachable"."""
    import shutil
    import sqlite3

    import sqlalchemy.exc

    from fraud_detection.infrastructure.local import disk_space
    from fraud_detection.infrastructure.mlflow.connection import TrackingStoreUnavailableError, reaching
    from fraud_detection.infrastructure.sqlite.feedback_store import _unavailable

    io_error = sqlite3.OperationalError("disk I/O error")
    assert "(check that disk and try again)" in str(_unavailable(tmp_path / "feedback.db", io_error))

    def full(path):
        return shutil._ntuple_diskusage(10 * 2**30, 10 * 2**30 - 2**19, 2**19)  # 0.5 MiB left

    monkeypatch.setattr(disk_space.shutil, "disk_usage", full)
    refused = _unavailable(tmp_path / "feedback.db", io_error)
    assert isinstance(refused, StorageFullError)
    assert "disk I/O error (free space on that disk (0.5 MiB free) and try again)" in str(refused)

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with pytest.raises(StorageFullError) as raised, reaching(uri):
        raise sqlalchemy.exc.OperationalError("INSERT INTO metrics", ("auprc", 0.8), io_error)
    assert isinstance(raised.value, TrackingStoreUnavailableError)
    with pytest.raises(typer.Exit) as exited, user_errors():
        raise raised.value
    err = capsys.readouterr().err
    assert exited.value.exit_code == 1
    assert err == (
        f"error: MLflow tracking store {uri}: disk I/O error (free space on that disk (0.5 MiB free) and try "
        "again)\n"
    )
