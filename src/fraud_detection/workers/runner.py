"""Run a Celery worker for batch jobs in this process, with its /metrics server."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from celery.signals import worker_process_shutdown
from prometheus_client import multiprocess

from fraud_detection.infrastructure.celery import CeleryJobQueue
from fraud_detection.infrastructure.celery.names import QUEUE
from fraud_detection.infrastructure.prometheus.worker_metrics import serve_metrics
from fraud_detection.settings import Settings
from fraud_detection.workers.app import create_worker_app
from fraud_detection.workers.preload import preload_at_start
from fraud_detection.workers.sweeper import sweep_while_working


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 1
    metrics_port: int = 0  # 0 = no /metrics server
    metrics_host: str = "127.0.0.1"  # as `fraud serve`: a container's command passes 0.0.0.0 to be scraped
    loglevel: str = "info"


def worker_argv(options: WorkerOptions) -> list[str]:
    """One process with the solo pool for concurrency 1 (no fork: the simplest to kill and to trace);
    prefork children otherwise. A hostname unique per process, and no mingle/gossip chatter at startup."""
    pool = "solo" if options.concurrency == 1 else "prefork"
    return [
        "worker",
        f"--loglevel={options.loglevel}",
        f"--pool={pool}",
        f"--concurrency={options.concurrency}",
        f"--hostname=fraud-worker-{os.getpid()}@{socket.gethostname()}",
        f"--queues={QUEUE}",
        "--without-mingle",
        "--without-gossip",
    ]


def run_worker(settings: Settings, options: WorkerOptions) -> None:
    """Blocks until the worker stops (SIGTERM: warm shutdown, running tasks finish first)."""
    app = create_worker_app(settings)
    if settings.worker_preload:
        preload_at_start(prefork=options.concurrency > 1)
    sweep_while_working(settings.batch_sweep_seconds)
    if options.metrics_port:
        serve_metrics(options.metrics_port, options.metrics_host, CeleryJobQueue(app).depth)
    app.worker_main(argv=worker_argv(options))


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _drop_live_samples(pid: int | None = None, **_: object) -> None:
    """A prefork child that exits leaves its counters in the multiprocess folder (they still count) but
    its live gauges must go."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
