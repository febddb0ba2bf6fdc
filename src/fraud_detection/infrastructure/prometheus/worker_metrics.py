"""What batch workers report to Prometheus, and the /metrics server of a worker's main process.

With a prefork pool set PROMETHEUS_MULTIPROC_DIR before this module is imported (`fraud worker` does): each
child process then writes its samples to files there, and the main process's server sums them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from fraud_detection.domain.jobs import JobState
from fraud_detection.infrastructure.celery.names import ABORT, COMMIT, PREPARE, SCORE_CHUNK

CHUNK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

JOBS = Counter("fraud_batch_jobs", "Batch jobs ended by this worker, by final state.", ["state"])
ROWS_SCORED = Counter("fraud_batch_rows_scored", "Rows scored by batch chunk tasks.")
CHUNK_SECONDS = Histogram(
    "fraud_batch_chunk_duration_seconds", "Time to read, score and write one chunk.", buckets=CHUNK_BUCKETS
)
TASK_FAILURES = Counter(
    "fraud_batch_task_failures", "Batch tasks that failed for good (after any retries), by task.", ["task"]
)
JOBS_RESUMED = Counter(
    "fraud_batch_jobs_resumed",
    "Jobs this worker queued again because the broker had lost their tasks (nothing queued, no progress).",
)
JOBS_STUCK = Counter(
    "fraud_batch_jobs_stuck",
    "Jobs found stalled again after being queued again once: `fraud batch resume` them (see the broker).",
)

# Every series exists from the start at 0: a counter born at its first increment hides that increment
# from `increase()`, so the first failed job would never fire an alert.
for _state in (state for state in JobState if state.finished):
    JOBS.labels(state=_state.value)
for _task in (PREPARE, SCORE_CHUNK, COMMIT, ABORT):
    TASK_FAILURES.labels(task=_task)


class QueueDepthCollector(Collector):
    """`fraud_batch_queue_depth`, read from the broker at scrape time (nothing when it cannot tell)."""

    def __init__(self, depth: Callable[[], int | None]) -> None:
        self._depth = depth

    def collect(self) -> Iterator[Metric]:
        depth = self._depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "fraud_batch_queue_depth", "Batch task messages waiting in the broker queue.", value=depth
            )


def serve_metrics(port: int, host: str, depth: Callable[[], int | None]) -> None:
    """Start the /metrics HTTP server on a daemon thread of this (the worker's main) process."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    registry.register(QueueDepthCollector(depth))
    start_http_server(port, addr=host, registry=registry)
