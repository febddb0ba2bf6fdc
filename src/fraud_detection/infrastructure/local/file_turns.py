"""Turns between processes of one host on a lock file: `flock`, re-entrant within a process.

Re-entrant because a turn's holder calls code that takes the same turn (a rollout's last step moves the
champion, which takes it too), and one per path in a process because two `flock`s on one file from two
descriptors of the same process exclude each other: the second would wait for ever. Hand-written: no kept
library offers a re-entrant inter-process lock (filelock's is re-entrant per object only).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, ClassVar


class FileTurns:
    _by_path: ClassVar[dict[Path, FileTurns]] = {}
    _made: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.RLock()  # the process's threads take turns before the file's lock
        self._depth = 0
        self._file: IO[bytes] | None = None

    @classmethod
    def at(cls, path: Path) -> FileTurns:
        """The one instance of this process for `path`."""
        resolved = path.resolve()
        with cls._made:
            return cls._by_path.setdefault(resolved, cls(resolved))

    @contextmanager
    def held(self) -> Iterator[None]:
        """Wait for the turn, hold it for the block. The kernel drops the lock however the process ends."""
        with self._local:
            if self._depth == 0:
                self._file = self._path.open("ab")
                try:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
                except BaseException:
                    self._file.close()
                    raise
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._file is not None:
                    self._file.close()  # releases the flock
                    self._file = None
