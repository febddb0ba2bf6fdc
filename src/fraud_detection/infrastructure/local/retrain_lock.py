"""One local retrain at a time per FRAUD_HOME: an advisory lock file held by the running `fraud retrain`.

Drift checks every hour and operators pressing "retrain" must not stack trainings on one host (each takes
a CPU and a gigabyte). The lock dies with its process (the kernel releases it), so a crashed retrain never
blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RetrainRunningError(Exception):
    """Another retrain holds the lock."""


def lock_path(home: Path) -> Path:
    return home.resolve() / "retrain.lock"


# A probe (`is_held`) holds the lock for microseconds; a retrain starting then tries again for this long
# before it says another one runs (it used to fail at once: the API's check made a real retrain exit 1).
PROBE_GRACE_SECONDS = 0.5
RETRY_SECONDS = 0.02


@contextmanager
def holding(path: Path) -> Iterator[None]:
    """Hold the lock for the block, or raise `RetrainRunningError` (naming the holder's pid) when another
    retrain holds it beyond PROBE_GRACE_SECONDS."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + PROBE_GRACE_SECONDS
        while not _locked(descriptor):
            if time.monotonic() >= deadline:
                holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
                raise RetrainRunningError(f"a retrain is already running (pid {holder}, lock {path})")
            time.sleep(RETRY_SECONDS)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def is_held(path: Path) -> bool:
    """Whether a retrain holds the lock; the probe writes nothing (the holder's pid stays in the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        return not _locked(descriptor)
    finally:
        os.close(descriptor)


def _locked(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
