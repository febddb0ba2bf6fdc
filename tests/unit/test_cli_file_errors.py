"""A file the operating system refuses is the user's path or machine, not a bug: one line naming the file the
user asked for (not a temporary sibling), exit 2, or 1 when the disk itself failed; other OS errors keep their
traceback, and a failed write leaves no temporary file behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
import typer

from fraud_detection.domain.errors import ServiceUnavailableError, StorageFullError
from fraud_detection.entrypoints.cli.errors import user_errors
from fraud_detection.entrypoints.cli.outputs import write_atomically
from fraud_detection.simulation import writer
from fraud_detection.simulation.writer import write_transactions


def outcome(error: BaseException, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(typer.Exit) as exited, user_errors():
        raise error
    return exited.value.exit_code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/no/such"), 2,
         "error: cannot use /no/such: No such file or directory"),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 2,
         "error: cannot use /root/x: Permission denied"),
        (OSError(errno.ENAMETOOLONG, "File name too long", "/t/" + "a" * 5000), 2, "File name too long"),
        (OSError(errno.ENOSPC, "No space left on device", "/full/x.csv"), 1,
         "error: cannot use /full/x.csv: No space left on device"),
        (OSError(errno.ENOSPC, "Error writing bytes to file"), 1, "error: Error writing bytes to file"),
    ],
    ids=["missing", "permission", "name too long", "disk full", "disk full, no file named"],
)  # fmt: skip
def test_a_refused_file_is_one_line(capsys, error, code, line):
    exit_code, err = outcome(error, capsys)
    assert exit_code == code
    assert err.count("\n") == 1
    assert line in err
    assert len(err) < 300  # a 5,000-character path is shortened, keeping the reason in sight


class ConfiguredWrongError(ServiceUnavailableError):
    advice_included = True


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ServiceUnavailableError("broker redis://q:6379 is unreachable"),
         "error: broker redis://q:6379 is unreachable (a service is down or unreachable; try again)\n"),
        (StorageFullError("disk full under /srv"), "error: disk full under /srv\n"),
        (ConfiguredWrongError("that file is not a SQLite database (check X)"),
         "error: that file is not a SQLite database (check X)\n"),
    ],
    ids=["down", "full", "says what to fix"],
)  # fmt: skip
def test_an_unavailable_service_says_try_again_unless_its_message_says_what_to_fix(capsys, error, line):
    assert outcome(error, capsys) == (1, line)


@pytest.mark.parametrize("error", [ConnectionResetError(errno.ECONNRESET, "reset"), OSError("no errno")])
def test_an_os_error_about_no_file_keeps_its_traceback(error):
    with pytest.raises(type(error)), user_errors():
        raise error


def test_write_atomically_names_the_file_asked_for(tmp_path):
    with pytest.raises(FileNotFoundError) as refused:
        write_atomically(tmp_path / "missing" / "summary.json", "{}")
    assert refused.value.filename == str(tmp_path / "missing" / "summary.json")


def test_a_name_of_255_bytes_is_written_and_readable_by_others(tmp_path):
    """The temporary sibling was named after the file (10 bytes more): a valid name of 246-255 bytes failed
    after the whole run; and it was private (0600), where a CI uploader may run as another user."""
    target = tmp_path / ("s" * 250 + ".json")
    write_atomically(target, "{}")
    assert target.read_text() == "{}"
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o640)
    write_atomically(target, "[]")
    assert target.stat().st_mode & 0o777 == 0o640  # a file's own mode is kept
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    target.write_text("old")

    def full_disk(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, "new")
    assert [path.name for path in tmp_path.iterdir()] == ["summary.json"]
    assert target.read_text() == "old"


def test_a_dataset_that_cannot_be_written_is_named_and_leaves_nothing(tmp_path, monkeypatch):
    frame = pd.DataFrame({column: [0.0] for column in writer.TRANSACTION_COLUMNS}).astype({"Class": int})

    def full_disk(table: object, path: Path) -> None:
        path.write_text("part")
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(writer, "_write_csv", full_disk)
    target = tmp_path / "data.csv"
    with pytest.raises(OSError, match="No space left") as refused:
        write_transactions(frame, target)
    assert refused.value.filename == str(target)
    assert refused.value.errno == errno.ENOSPC
    assert not any(tmp_path.iterdir())


def test_running_out_of_memory_is_one_line_and_never_retried(capsys):
    """A scale probe: 2.85M rows under a 5 GB limit were ingested three times (Prefect retried the task as
    an outage), then ~150 lines of traceback ended in `Unable to allocate 674. MiB`."""
    import numpy as np
    from prefect.states import Failed

    from fraud_detection.flows.tasks import retry_unless_bad_input

    try:
        np.empty(2**62, dtype=np.uint8)  # numpy's own MemoryError subclass, as the probe saw
    except MemoryError as raised:
        error = raised
    exit_code, err = outcome(error, capsys)
    assert exit_code == 1
    assert err.count("\n") == 1
    assert err.startswith("error: out of memory: Unable to allocate")
    assert not retry_unless_bad_input(None, None, Failed(data=error))  # type: ignore[arg-type]
    assert retry_unless_bad_input(None, None, Failed(data=ConnectionError("S3 reset")))  # type: ignore[arg-type]
