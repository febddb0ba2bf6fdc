"""One local retrain at a time per FRAUD_HOME: an advisory lock file held by the running `fraud retrain`.

Drift checks every hour and operators pressing "retrain" must not stack trainings on one host (each takes
a CPU and a gigabyte). The lock dies with its process (the kernel releases it), so a crashed retrain never
blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RetrainRunningError(Exception):
    """Another retrain holds the lock."""


def lock_path(home: Path) -> Path:
    return home.resolve() / "retrain.lock"


@contextmanager
def holding(path: Path) -> Iterator[None]:
    """Hold the lock for the block, or raise `RetrainRunningError` at once (naming the holder's pid)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RetrainRunningError(f"a retrain is already running (pid {holder}, lock {path})") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def is_held(path: Path) -> bool:
    try:
        with holding(path):
            return False
    except RetrainRunningError:
        return True
