"""`fraud mlflow-ui`: MLflow's UI on this home's runs and registry, stopped whole on Ctrl+C or SIGTERM."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from fraud_detection.entrypoints.cli.context import console
from fraud_detection.entrypoints.cli.errors import BAD_INPUT, fail, handles_user_errors
from fraud_detection.entrypoints.cli.listen import check_bindable
from fraud_detection.entrypoints.cli.process_group import run_process_group


@handles_user_errors
def mlflow_ui(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 5000,
) -> None:
    """Browse runs, plots and the registry of FRAUD_HOME's SQLite store with `mlflow ui` (one worker, no
    job runner), in a process group of its own that Ctrl+C or SIGTERM stops entirely."""
    from fraud_detection.domain.redaction import masked_url
    from fraud_detection.infrastructure.local.home import private_home
    from fraud_detection.settings import Settings

    settings = Settings()
    private_home(settings.home)  # before MLflow makes it, and mlflow.db in it, with the umask's modes
    store = settings.resolved_tracking_uri
    if not store.startswith("sqlite:"):
        raise fail(
            f"MLFLOW_TRACKING_URI is a tracking server ({masked_url(store)}): open it in a browser; "
            "`fraud mlflow-ui` serves the embedded SQLite store",
            BAD_INPUT,
        )
    check_bindable(host, port)
    # Through the orphan guard: a SIGKILLed `fraud mlflow-ui` (no handler runs) left `mlflow ui` and its
    # server listening, adopted by init; the guard ends their group once this process is gone.
    argv = [
        sys.executable, "-m", "fraud_detection.flows.orphan_guard", "--group", str(os.getpid()), "mlflow",
        "ui", "--backend-store-uri", store, "--host", host, "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    # The job runner (GenAI jobs; ~7 more processes) has nothing to do for runs and models.
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    console.print(f"MLflow UI on http://{host}:{port} for {store} (Ctrl+C stops it)")
    raise typer.Exit(run_process_group(argv, env))
