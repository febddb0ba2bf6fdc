"""`fraud pipeline run`: the training pipeline as a Prefect flow, with progress and a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fraud_detection.entrypoints.cli.context import console, container
from fraud_detection.entrypoints.cli.errors import handles_user_errors
from fraud_detection.entrypoints.cli.progress import ConsoleProgress
from fraud_detection.entrypoints.cli.summary import print_summary

app = typer.Typer(help="Run the training pipeline.", no_args_is_help=True)


@app.command()
@handles_user_errors
def run(
    source: Annotated[
        str | None, typer.Option(help="Raw data: path, s3:// or kaggle:// (default: FRAUD_DATASET_PATH).")
    ] = None,
    summary_json: Annotated[
        Path | None, typer.Option(help="Also write the run summary as JSON here.")
    ] = None,
) -> None:
    """Ingest -> validate -> features -> train -> evaluate -> register (challenger) -> promotion gate."""
    c = container()
    settings = c.settings()
    if source is None and not settings.resolved_dataset_path.exists():
        from fraud_detection.entrypoints.cli.errors import fail

        raise fail(
            f"no dataset at {settings.resolved_dataset_path}; run `fraud data generate` or pass --source"
        )
    c.observer.override(ConsoleProgress(console))
    console.print("starting the Prefect flow (a temporary local server unless PREFECT_API_URL is set)...")
    from fraud_detection.flows.training import training_pipeline

    summary = training_pipeline(source=source)
    print_summary(console, summary, settings)
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.to_dict(), indent=2, default=str))
