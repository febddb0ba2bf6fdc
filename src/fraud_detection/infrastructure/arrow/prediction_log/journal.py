"""A write-ahead copy of the queued rows on local disk, so a killed process loses only the last interval.

Every `journal_seconds` a thread copies the rows appended since its last pass into one small Parquet chunk per
column buffer, under `<spill>/journal/<owner>/` (temp file, then rename: a chunk is whole or absent). When a
buffer's rows are all in the store (or the spill), its chunks are deleted. The owner folder holds a lock file
that the process keeps `flock`ed while it lives; the kernel releases it however the process ends (SIGKILL
included), so the next process to start finds the folder unlocked and turns its chunks into spill files,
which are then sent to the store. Chunks are not fsynced: they survive the process, not a power cut.

The folder is made and locked under a hidden setup name, then renamed into place: a worker's recovery
running while a sibling starts took the sibling's folder, seen before its lock, for a dead process's and
deleted it. Setup folders of a process killed while starting hold no chunk; they go after SETUP_GRACE_SECONDS
(as in scratch.py). Recovery never creates a lock file: a folder without one is an older version's that is
still starting, unless it has been so for SETUP_GRACE_SECONDS.

Delivery is at least once: rows stored just before a kill (and not yet deleted from the journal) are sent
again, as their own file; `request_id` and `transaction_id` identify the duplicates.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import ColumnBuffer
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import PREDICTION_SCHEMA, conformed

logger = logging.getLogger(__name__)

LOCK_NAME = "owner.lock"
TEMP_PREFIX = ".~chunk-"
SETUP_PREFIX = ".~owner-"
SETUP_GRACE_SECONDS = 60.0
SETUP_ATTEMPTS = 3


class Journal:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve() / "journal"
        self._pid = os.getpid()  # a forked child must not write (or delete) its parent's chunks
        self.owner = f"{self._pid}-{uuid.uuid4().hex[:8]}"
        self.folder = self.root / self.owner
        self._lock_file: BinaryIO | None = _locked_folder(self.root, self.owner)
        self._ids = itertools.count()

    def append(self, buffer: ColumnBuffer, data: bytes) -> None:
        """Add a chunk of `buffer`'s rows (raises OSError when the disk refuses it)."""
        if os.getpid() != self._pid:
            return
        if buffer.journal_id < 0:
            buffer.journal_id, buffer.journal_chunks = next(self._ids), 0
        target = self.folder / _chunk_name(buffer.journal_id, buffer.journal_chunks)
        temp = self.folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            temp.write_bytes(data)
            os.replace(temp, target)
        except OSError:
            with suppress(OSError):
                temp.unlink()
            raise
        buffer.journal_chunks += 1

    def discard(self, buffer: ColumnBuffer) -> None:
        """The buffer's rows are safe elsewhere (or given up): delete its chunks. Bumps its generation, so
        a journal pass that looked at it before cannot write it again."""
        if buffer.journal_id >= 0 and os.getpid() == self._pid:
            for chunk in range(buffer.journal_chunks):
                with suppress(FileNotFoundError):
                    (self.folder / _chunk_name(buffer.journal_id, chunk)).unlink()
        buffer.journal_id, buffer.journaled, buffer.journal_chunks = -1, 0, 0
        buffer.generation += 1

    def close(self) -> None:
        """Release the folder: removed when no chunk is left; otherwise the next start recovers it."""
        if self._lock_file is None or os.getpid() != self._pid:
            return
        chunks = [p for p in self.folder.iterdir() if p.name.endswith(".parquet")]
        if not chunks:
            shutil.rmtree(self.folder, ignore_errors=True)
        self._lock_file.close()  # releases the flock
        self._lock_file = None

    def orphans(self) -> Iterator[tuple[str, pa.Table, Callable[[], None]]]:
        """(owner, rows, delete) for each folder left by a process that is gone; call `delete` once the
        rows are safe elsewhere. Unreadable chunks are named in the log and left out."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder == self.folder or not folder.is_dir():
                continue
            if folder.name.startswith(SETUP_PREFIX):
                _remove_abandoned_setup(folder)
                continue
            try:
                lock = _try_lock(folder / LOCK_NAME)
            except FileNotFoundError:
                if _age(folder) < SETUP_GRACE_SECONDS:
                    continue  # an older version's process between its mkdir and its lock file
                lock = None  # its process died before it could lock, let alone journal
            except OSError:
                continue  # locked: its process still runs
            try:
                tables = [t for t in map(_read_chunk, sorted(folder.glob("*.parquet"))) if t is not None]
                rows = pa.concat_tables(tables) if tables else PREDICTION_SCHEMA.empty_table()
                yield folder.name, rows, partial(shutil.rmtree, folder, ignore_errors=True)
            finally:
                if lock is not None:
                    lock.close()


def _chunk_name(journal_id: int, chunk: int) -> str:
    return f"{journal_id:09d}-{chunk:06d}.parquet"


def _locked_folder(root: Path, owner: str) -> BinaryIO:
    """Make `root/owner` with its lock file held: made and locked under a setup name, then renamed, so
    no other process's recovery ever sees it unlocked. Raises OSError, leaving nothing behind.

    Set up again when the setup folder vanished or was taken meanwhile: a replica of a version from before
    setup names (still running during a rolling deploy) recovers every folder, this one included, and
    the replica then ran without a journal."""
    for attempt in range(SETUP_ATTEMPTS - 1):
        try:
            return _set_up(root, owner)
        except (FileNotFoundError, FileExistsError, BlockingIOError):
            time.sleep(0.05 * (attempt + 1))
    return _set_up(root, owner)


def _set_up(root: Path, owner: str) -> BinaryIO:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    setup = root / f"{SETUP_PREFIX}{owner}"
    setup.mkdir(mode=0o700)
    lock: BinaryIO | None = None
    try:
        lock = (setup / LOCK_NAME).open("xb")
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows the folder yet
        setup.rename(root / owner)  # the lock goes with the open file, not the name
    except BaseException:
        if lock is not None:
            lock.close()
        shutil.rmtree(setup, ignore_errors=True)
        raise
    return lock


def _try_lock(path: Path) -> BinaryIO:
    """The existing lock file, held; raises FileNotFoundError when there is none (never creates it) and
    OSError when a live process holds it."""
    handle = path.open("rb")  # flock needs no write access
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise
    return handle


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0  # gone meanwhile: leave it


def _remove_abandoned_setup(folder: Path) -> None:
    """Remove a setup folder left by a process killed while starting (it holds no chunk yet); one younger
    than SETUP_GRACE_SECONDS or still locked is a starting process's."""
    if _age(folder) < SETUP_GRACE_SECONDS:
        return
    try:
        lock = _try_lock(folder / LOCK_NAME)
    except FileNotFoundError:
        lock = None
    except OSError:
        return
    try:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        if lock is not None:
            lock.close()


def _read_chunk(path: Path) -> pa.Table | None:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        logger.error("prediction log: journal chunk %s is unreadable (%s); its rows are lost", path, error)
        return None
    usable = conformed(table)  # a chunk left by the previous version, before an upgrade: still its rows
    if usable is None:
        logger.error("prediction log: journal chunk %s has another schema; its rows are lost", path)
    return usable
