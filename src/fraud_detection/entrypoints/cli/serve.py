"""`fraud serve`: the scoring API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from fraud_detection.entrypoints.api.shutdown import GRACEFUL_SHUTDOWN_SECONDS
from fraud_detection.entrypoints.cli.context import console
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors
from fraud_detection.entrypoints.cli.listen import check_bindable
from fraud_detection.entrypoints.cli.log_levels import LogLevel
from fraud_detection.entrypoints.cli.metrics_folder import multiprocess_metrics_folder
from fraud_detection.entrypoints.cli.processes import check_process_count

APP = "fraud_detection.entrypoints.api.app:create_app"


@handles_user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one model copy each).")] = 1,
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="uvicorn log level.")
    ] = LogLevel.INFO,
) -> None:
    """Serve /v1/score, /v1/score/batch, /v1/model, /v1/feedback, /v1/jobs, /admin/*, /healthz, /readyz and
    /metrics."""
    from fraud_detection.settings import Settings

    check_process_count("--workers", workers)
    settings = Settings()  # a malformed setting fails here, as one line, not inside every worker
    if settings.api_concurrency_max < workers:  # each worker holds at least one: the limit would not hold
        raise fail(
            f"FRAUD_API_CONCURRENCY_MAX ({settings.api_concurrency_max}) is below --workers ({workers}): it "
            "is shared among the workers, and each needs room for one connection"
        )
    from fraud_detection.composition.serving import make_client_source

    make_client_source(settings)  # so does a malformed clients file or secret
    check_bindable(host, port)  # and a taken port, before any worker loads a model

    docs = "docs at /docs" if settings.api_docs else "docs off (FRAUD_API_DOCS=true to serve /docs)"
    console.print(f"serving on http://{host}:{port} with {workers} worker(s); {docs}")
    # Each worker keeps its metrics in files there; /metrics sums them (prometheus_client multiprocess).
    with multiprocess_metrics_folder(workers, "fraud-metrics-"):
        _run(APP, host, port, workers, log_level, settings.api_concurrency_max)


def _run(app: str, host: str, port: int, workers: int, log_level: LogLevel, concurrency_max: int) -> None:
    import uvicorn

    from fraud_detection.entrypoints.api.header_deadline import HeaderDeadlineProtocol

    uvicorn.run(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.value,
        http=HeaderDeadlineProtocol,  # closes connections whose headers crawl in (slowloris)
        # The connections each worker holds (HeaderDeadlineProtocol applies it): beyond it, 503 at once rather
        # than a queue. Shared out, so the setting bounds what `fraud serve` holds, as it says (before,
        # --workers 2 held 14 of a limit of 8).
        limit_concurrency=max(1, concurrency_max // workers),
        timeout_keep_alive=5,
        # A stop (SIGTERM) waits this long for requests under way, then closes what is left: keep-alive
        # clients that kept sending held a `--workers 2` server for 56 s in a load probe (ECS kills at 30 s).
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
