"""Local disk between the capture queue and the object store: files the store refused, kept until it has them.

A spilled file keeps the key it was meant to have in the store (`<prefix>/date=.../hour=.../<name>.parquet`),
so sending it again later is one `write_bytes` of the same bytes to the same key: resending twice (a crash
between the store's write and the spill's delete, or two processes sharing the directory) overwrites, never
duplicates. Files are written atomically (temp file, fsync, rename) by the local object store. The folder is
bounded in bytes: a file that does not fit is refused and its rows stay in memory. The folder is created
owner-only (0700): it holds scored transactions. A file that is not a prediction-log Parquet file is never
sent: it is renamed `*.rejected` and named in the log.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import suppress
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.errors import ObjectNotFoundError
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import readable_schema
from fraud_detection.infrastructure.local import LocalObjectStore

logger = logging.getLogger(__name__)


class SpillRefusedError(RuntimeError):
    """Neither the object store nor the local spill took a file (spill full, or its disk failing)."""


class SpillDir:
    def __init__(self, root: Path, prefix: str, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("spill max_bytes must be at least 1")
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with suppress(OSError):  # a folder made earlier (by hand, by an older version) is narrowed too
            self.root.chmod(0o700)
        self._files = LocalObjectStore(self.root)
        self._prefix = prefix
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self.bytes = 0
        self.files = 0

    def put(self, key: str, data: bytes, *, force: bool = False) -> bool:
        """Keep a file for the store; False when it would pass the bound (unless `force`) or disk fails."""
        with self._lock:
            if not force and self.bytes + len(data) > self._max_bytes:
                return False
            try:
                self._files.write_bytes(key, data)
            except Exception as error:
                logger.warning("prediction log: cannot spill %s to %s: %s", key, self.root, error)
                return False
            self.bytes += len(data)
            self.files += 1
            return True

    def scan(self) -> list[tuple[str, int]]:
        """Every spilled file (oldest key first) with its size; refreshes `bytes` and `files` (another
        process sharing the folder may have added or resent some)."""
        found: list[tuple[str, int]] = []
        folder = self.root / self._prefix
        for directory, _, names in os.walk(folder):
            for name in names:
                if not name.endswith(".parquet"):
                    continue  # the local store's temp files, and anything else, are not ours
                path = Path(directory, name)
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                found.append((path.relative_to(self.root).as_posix(), size))
        found.sort()
        with self._lock:
            self.files, self.bytes = len(found), sum(size for _, size in found)
        return found

    def read(self, key: str) -> bytes | None:
        """The file's bytes, or None when another process has resent (deleted) it meanwhile."""
        try:
            return self._files.read_bytes(key)
        except ObjectNotFoundError:
            return None

    def rows_if_valid(self, key: str, data: bytes) -> int | None:
        """The file's row count when it is a prediction-log Parquet file; otherwise set it aside, None."""
        try:
            metadata = pq.read_metadata(pa.BufferReader(data))
            valid = readable_schema(metadata.schema.to_arrow_schema())  # the reader conforms a legacy file
        except (pa.ArrowException, OSError):
            valid = False
        if valid:
            return int(metadata.num_rows)
        logger.error("prediction log: spilled file %s is not a prediction-log file; renamed *.rejected", key)
        path = self.root / key
        with suppress(OSError):
            path.rename(path.with_name(path.name + ".rejected"))
        return None

    def remove(self, key: str, size: int) -> None:
        """Called only once the store has the file."""
        self._files.delete(key)
        with self._lock:
            self.bytes = max(self.bytes - size, 0)
            self.files = max(self.files - 1, 0)
