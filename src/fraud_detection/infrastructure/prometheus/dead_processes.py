"""Live gauges of processes that died without saying so, dropped before a multi-process scrape.

prometheus_client keeps each process's samples in files named by its pid, and forgets a process's live
gauges (`live*` modes) only when told (`mark_process_dead`). A uvicorn worker that is killed (OOM, SIGKILL)
never tells, and its supervisor starts another: the dead one's gauges would stay in every scrape for the
life of the folder, e.g. its `fraud_model_info` naming a version no longer served, or its in-flight count.
Its counters stay (they still count), as prometheus_client intends.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import multiprocess

_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user counts: it cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(folder: str | Path) -> list[int]:
    """Drop the live gauges of every process whose files are in `folder` and that no longer exists; the
    pids dropped, in order. A file removed meanwhile by another worker's scrape is no error."""
    pids = set()
    for name in os.listdir(folder):
        match = _LIVE_GAUGE_FILE.fullmatch(name)
        if match:
            pids.add(int(match.group(1)))
    dead = sorted(pid for pid in pids if not alive(pid))
    for pid in dead:
        try:
            multiprocess.mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]
        except FileNotFoundError:  # the other worker's scrape got there first
            continue
    return dead
