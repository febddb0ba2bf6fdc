"""A stop signal during a scratch folder's removal waits for the removal (it left the folder behind)."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraud_detection.entrypoints.cli.terminated import Terminated
from fraud_detection.infrastructure.local import scratch_folder as module
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder


@pytest.fixture
def sigterm_raises() -> Iterator[None]:
    """SIGTERM raises as the CLI's handler makes it (a KeyboardInterrupt)."""

    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_during_the_removal_is_raised_once_the_folder_is_gone(
    sigterm_raises: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    remove = module.shutil.rmtree

    def stopped_half_way(path: str, ignore_errors: bool = False) -> None:
        os.remove(Path(path, "data.parquet"))
        os.kill(os.getpid(), signal.SIGTERM)  # raised here at once, without the hold
        remove(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(module.shutil, "rmtree", stopped_half_way)
    with pytest.raises(Terminated), scratch_folder("fraud-dataset-") as folder:  # raised as the block ends
        Path(folder, "data.parquet").write_bytes(b"rows")
    assert list(tmp_path.iterdir()) == []


def test_the_folder_is_removed_whole_on_an_error_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def fail_in(folder: str) -> None:
        Path(folder, "a", "b").mkdir(parents=True)
        raise ValueError("bad rows")

    with pytest.raises(ValueError, match="bad rows"), scratch_folder("fraud-source-") as folder:
        fail_in(folder)
    assert list(tmp_path.iterdir()) == []


def test_a_sigterm_while_the_folder_is_made_removes_it_too(
    sigterm_raises: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Held while the folder is made, the signal is delivered once it exists: it must not outlive the stop."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    make = module.tempfile.mkdtemp

    def made_then_stopped(prefix: str) -> str:
        folder = make(prefix=prefix)
        os.kill(os.getpid(), signal.SIGTERM)
        return folder

    monkeypatch.setattr(module.tempfile, "mkdtemp", made_then_stopped)
    entered = []
    with pytest.raises(Terminated), scratch_folder("fraud-source-"):
        entered.append(True)
    assert entered == []
    assert list(tmp_path.iterdir()) == []
