"""Temp files of the local object store's writers that die mid-write, with real processes and SIGKILL."""

from __future__ import annotations

import contextlib
import fcntl
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
    def __init__(
        self, store: LocalObjectStore, key: str, fifo: Path, data: bytes = b"half an object"
    ) -> None:
        os.mkfifo(fifo)
        self.process = subprocess.Popen(
            [sys.executable, "-c", STALLED_WRITER, str(store.root), key, str(fifo)]
        )
        self.feed = os.open(fifo, os.O_WRONLY)  # blocks until the writer opens its end
        os.write(self.feed, data)
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


def test_a_young_empty_temp_is_kept_even_unheld(store: LocalObjectStore) -> None:
    """A writer creates its temp, then locks it: within the grace period an empty unheld temp stays."""
    store.write_bytes("a/b", b"x")
    (store.root / "a" / f"{TEMP_PREFIX}young").write_bytes(b"")
    store.delete("a/b")
    assert (store.root / "a" / f"{TEMP_PREFIX}young").exists()
    age(store.root / "a" / f"{TEMP_PREFIX}young")
    store.write_bytes("a/c", b"x")
    store.delete("a/c")
    assert not (store.root / "a").exists()


def test_a_writer_killed_a_moment_ago_leaves_nothing_once_its_folder_is_emptied(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    """A batch job SIGKILLed while staging its input and resumed at once finished within the minute: its
    half-written temp (3-48 MB) was younger than the grace period, kept, and stayed for good."""
    store.write_bytes("jobs/j1/input/000000.arrow", b"chunk")
    half = b"x" * 3_000_000  # past the 1 MiB reads of its copy: on disk, as a real staged chunk would be
    killed = StalledWriter(store, "jobs/j1/input/000001.arrow", tmp_path / "fifo", half)
    killed.kill()  # not aged: killed a moment ago
    assert killed.temp.stat().st_size > 0
    store.delete("jobs/j1/input/000000.arrow")  # the resumed job ends and cleans its folder
    assert not (store.root / "jobs").exists()


def test_a_write_is_locked_until_its_rename(store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unlocked between the close and the rename, a whole temp would be taken for a dead writer's."""
    seen: list[bool] = []
    replace = os.replace

    def checked(source, target):  # a sweeper's look, between the write and the rename
        with Path(source).open("rb") as look:
            try:
                fcntl.flock(look.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append(False)
            except BlockingIOError:
                seen.append(True)
        return replace(source, target)

    monkeypatch.setattr(os, "replace", checked)
    store.write_bytes("a/b", b"whole")
    assert seen == [True]
    assert store.read_bytes("a/b") == b"whole"


def test_a_killed_writers_temp_beside_objects_goes_at_the_next_process_write_there(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    """A crash probe: `fraud data ingest` killed mid-write left a 24 MB temp beside the dataset's objects,
    and the re-run that succeeded kept it for good (only an emptied folder was swept)."""
    store.write_bytes("raw/d1/meta.json", b"{}")
    killed = StalledWriter(store, "raw/d1/data.parquet", tmp_path / "a")
    killed.kill()
    age(killed.temp)  # its bytes may still have been in its buffer: empty, so past the grace period
    folder = store.root / "raw" / "d1"
    young = folder / f"{TEMP_PREFIX}young"
    young.write_bytes(b"")  # a writer's, created a moment ago, not locked yet
    with (folder / f"{TEMP_PREFIX}live").open("wb") as live:
        live.write(b"being written")
        live.flush()
        fcntl.flock(live.fileno(), fcntl.LOCK_EX)  # a live writer holds its temp
        age(folder / f"{TEMP_PREFIX}live")
        rerun = LocalObjectStore(store.root)  # the next command, a process of its own
        rerun.write_bytes("raw/d1/data.parquet", b"whole")
        assert not killed.temp.exists()
        assert (folder / f"{TEMP_PREFIX}live").exists()
        assert young.exists()
    assert rerun.read_bytes("raw/d1/meta.json") == b"{}"
    assert rerun.read_bytes("raw/d1/data.parquet") == b"whole"
