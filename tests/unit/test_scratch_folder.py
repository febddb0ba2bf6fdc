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
