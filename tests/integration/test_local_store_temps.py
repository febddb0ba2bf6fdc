"""Temp files of the local object store's writers that die mid-write, with real processes and SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.local.object_store import TEMP_PREFIX

pytestmark = pytest.mark.integration

# A writer in another process that stalls mid-write: it copies from a FIFO nobody closes.
STALLED_WRITER = """
import sys
from pathlib import Path
from fraud_detection.infrastructure.local import LocalObjectStore
LocalObjectStore(Path(sys.argv[1])).write_file(sys.argv[2], Path(sys.argv[3]))
"""


class StalledWriter:
    def __init__(self, store: LocalObjectStore, key: str, fifo: Path) -> None:
        os.mkfifo(fifo)
        self.process = subprocess.Popen(
            [sys.executable, "-c", STALLED_WRITER, str(store.root), key, str(fifo)]
        )
        self.feed = os.open(fifo, os.O_WRONLY)  # blocks until the writer opens its end
        os.write(self.feed, b"half an object")
        folder = store.root / key.rpartition("/")[0]
        deadline = time.monotonic() + 30
        while not list(folder.glob(f"{TEMP_PREFIX}*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        [self.temp] = folder.glob(f"{TEMP_PREFIX}*")

    def finish(self) -> int:
        self.close_feed()
        return self.process.wait(timeout=30)

    def close_feed(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.feed)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.close_feed()


def age(path: Path, seconds: float = 3600) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


def test_a_killed_writers_temp_goes_with_its_folder_and_a_live_writers_stays(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    """A SIGKILLed writer (an OOM-killed batch step) leaves its temp: once the folder's last object is
    deleted, the temp and folder go too. A live writer holds a lock on its temp, so it is never taken."""
    store.write_bytes("jobs/j1/request.json", b"{}")
    killed = StalledWriter(store, "jobs/j1/parts/000001.arrow", tmp_path / "a")
    store.write_bytes("jobs/j2/request.json", b"{}")
    live = StalledWriter(store, "jobs/j2/parts/000001.arrow", tmp_path / "b")
    try:
        killed.kill()
        age(killed.temp)
        age(live.temp)
        store.write_bytes("jobs/j1/parts/000000.arrow", b"part")
        store.delete("jobs/j1/parts/000000.arrow")
        store.delete("jobs/j1/request.json")
        assert not (store.root / "jobs" / "j1").exists()
        store.write_bytes("jobs/j2/parts/000000.arrow", b"part")
        store.delete("jobs/j2/parts/000000.arrow")
        assert live.temp.exists()  # held by its writer, however old
        assert live.finish() == 0  # and its object lands whole
        assert store.read_bytes("jobs/j2/parts/000001.arrow") == b"half an object"
    finally:
        live.kill()


def test_a_young_temp_is_kept_even_unheld(store: LocalObjectStore) -> None:
    """A writer closes its temp just before the rename: within the grace period an unheld temp stays."""
    store.write_bytes("a/b", b"x")
    (store.root / "a" / f"{TEMP_PREFIX}young").write_bytes(b"y")
    store.delete("a/b")
    assert (store.root / "a" / f"{TEMP_PREFIX}young").exists()
