"""`fraud worker`: a Celery worker that runs batch-scoring jobs queued on FRAUD_BROKER_URL."""

from __future__ import annotations

from typing import Annotated

import typer

from fraud_detection.entrypoints.cli.context import console
from fraud_detection.entrypoints.cli.errors import BAD_INPUT, fail, handles_user_errors
from fraud_detection.entrypoints.cli.listen import check_bindable
from fraud_detection.entrypoints.cli.log_levels import LogLevel
from fraud_detection.entrypoints.cli.metrics_folder import multiprocess_metrics_folder
from fraud_detection.entrypoints.cli.processes import check_process_count


@handles_user_errors
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Tasks run at once: 1 = one process (solo pool), N = N children.")
    ] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="/metrics port (default FRAUD_WORKER_METRICS_PORT; 0 = off)."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Interface of the /metrics server (0.0.0.0 in a container, to be scraped).")
    ] = "127.0.0.1",
    loglevel: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Celery log level.")
    ] = LogLevel.INFO,
) -> None:
    """Run batch-scoring tasks (prepare, score chunks, commit) from the broker until stopped."""
    from fraud_detection.settings import Settings

    check_process_count("--concurrency", concurrency)
    settings = Settings()
    if not settings.broker_url:
        raise fail(
            "FRAUD_BROKER_URL is not set: a worker needs a broker (e.g. redis://host:6379/0)", BAD_INPUT
        )
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    if port:
        # A bad --metrics-host ended in a gaierror traceback; a taken port is said before Celery starts.
        check_bindable(metrics_host, port, "--metrics-host", "--metrics-port")
    where = f"/metrics on {metrics_host}:{port}" if port else "no /metrics"
    console.print(f"batch worker: concurrency {concurrency}, {where}")
    # Entered before the first import of prometheus_client: children write samples there, /metrics sums.
    with multiprocess_metrics_folder(concurrency, "fraud-worker-metrics-"):
        from fraud_detection.workers.runner import WorkerOptions, run_worker

        run_worker(settings, WorkerOptions(concurrency, port, metrics_host, loglevel.value))
