"""`fraud serve`: the scoring API under uvicorn."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import typer

from fraud_detection.entrypoints.cli.context import console
from fraud_detection.entrypoints.cli.errors import handles_user_errors

APP = "fraud_detection.entrypoints.api.app:create_app"


@handles_user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one model copy each).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve /v1/score, /v1/score/batch, /v1/model, /admin/*, /healthz, /readyz and /metrics."""
    import uvicorn

    from fraud_detection.settings import Settings

    Settings()  # a malformed setting fails here, as one line, not inside every worker
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker keeps its metrics in files here; /metrics sums them (prometheus_client multiprocess).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fraud-metrics-")
    console.print(f"serving on http://{host}:{port} with {workers} worker(s); docs at /docs")
    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level)
