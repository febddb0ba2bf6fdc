"""Polling for what runs in the background: the prediction log's threads, a stack's servers."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.005) -> bool:
    """True once `condition()` holds, checked every `interval` and a last time at `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
