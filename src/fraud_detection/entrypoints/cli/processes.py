"""How many model-holding processes one command may start on this host."""

from __future__ import annotations

import os

from fraud_detection.entrypoints.cli.errors import fail

PROCESSES_PER_CPU = 2


def check_process_count(option: str, count: int) -> None:
    """Exit 2 when `count` processes, each holding its own model copy for CPU-bound scoring, exceed
    PROCESSES_PER_CPU per CPU this process may use (its affinity, which a container's cpuset narrows):
    more only multiply the memory (`--workers` 10**20 once spawned processes until the host ran out)."""
    limit = PROCESSES_PER_CPU * len(os.sched_getaffinity(0))
    if count > limit:
        raise fail(
            f"{option}: {count} is more than {limit} ({PROCESSES_PER_CPU} per CPU this process may use): "
            "each process holds its own model copy, and scoring is CPU-bound, so more only add memory"
        )
