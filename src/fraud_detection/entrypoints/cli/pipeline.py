"""`fraud pipeline run`: the training pipeline as a Prefect flow, with progress and a summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fraud_detection.domain.errors import EMPTY_SOURCE, FraudDetectionError
from fraud_detection.entrypoints.cli.context import console, container
from fraud_detection.entrypoints.cli.errors import UNAVAILABLE, fail, handles_user_errors
from fraud_detection.entrypoints.cli.interrupts import run_flow_until_stopped, warn_unrecorded
from fraud_detection.entrypoints.cli.outputs import Output
from fraud_detection.entrypoints.cli.prefect_hang import exit_within_later, hang_ending
from fraud_detection.entrypoints.cli.progress import ConsoleProgress

if TYPE_CHECKING:
    from fraud_detection.application.pipeline_summary import PipelineSummary

app = typer.Typer(help="Run the training pipeline.", no_args_is_help=True)


@app.command()
@handles_user_errors
def run(
    source: Annotated[
        str | None, typer.Option(help="Raw data: path, s3:// or kaggle:// (default: FRAUD_DATASET_PATH).")
    ] = None,
    summary_json: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="Also write the run summary as JSON here (replacing a previous summary, never another "
            "file): a path or s3://bucket/key.",
        ),
    ] = None,
    force_promotion: Annotated[
        bool, typer.Option(help="Promote the new model even where the gate would keep the champion.")
    ] = False,
) -> None:
    """Ingest -> validate -> features -> train -> evaluate -> register (challenger) -> promotion gate."""
    # before the run; "" is refused, not taken as "no summary"
    summary_output = Output.parse(summary_json, "--summary-json") if summary_json is not None else None
    if summary_output is not None and not _replaceable(summary_output.path):
        raise fail(
            f"--summary-json: '{summary_json}' exists and is not a run summary; name another file "
            "(it replaces a previous summary, never another file)"
        )
    c = container()
    settings = c.settings()
    if source is None and not settings.resolved_dataset_path.exists():
        raise fail(
            f"no dataset at {settings.resolved_dataset_path}; run `fraud data generate` or pass --source"
        )
    if source is not None and not source.strip():  # `--source "$DATA"` with DATA unset: not the default
        raise fail(f"--source: {EMPTY_SOURCE}")
    if source is not None and ":" not in source and not Path(source).expanduser().exists():
        raise fail(f"--source: no file at {source}")  # said now, not after Prefect's server started
    from fraud_detection.flows.tasks import stage_retry_delay

    progress = ConsoleProgress(console, stage_retry_delay)
    c.observer.override(progress)

    def report(summary: PipelineSummary) -> None:
        from fraud_detection.entrypoints.cli.summary import print_summary

        print_summary(console, summary, settings)
        if summary_output is not None:
            document = {"status": "succeeded"} | summary.to_dict()
            try:
                summary_output.write_text(json.dumps(document, indent=2, default=str))
            except (FraudDetectionError, OSError) as error:  # not "try again": that trains another version
                raise fail(
                    f"the run finished ({_outcome(summary)}), but --summary-json was not written: {error}; "
                    "running it again would train another version (`fraud model list` shows this one)",
                    UNAVAILABLE,
                ) from None

    console.print("starting the Prefect flow (a temporary local server unless PREFECT_API_URL is set)...")
    try:
        summary = run_flow_until_stopped(
            "pipeline", progress, c.interruption(), lambda: _run_flow(source, force_promotion, report)
        )
    except typer.Exit:  # stopped by Ctrl-C or SIGTERM: the command says how far it got
        if summary_output is not None:  # and the file, where a previous run's "succeeded" stayed
            stopped = {
                "status": "interrupted",
                "stopped_stage": progress.running,
                "finished_stages": list(progress.finished),
                "stage_seconds": progress.seconds,
            }
            try:
                summary_output.write_text(json.dumps(stopped, indent=2, default=str))
            except (FraudDetectionError, OSError) as error:
                typer.echo(f"warning: --summary-json was not written: {error}", err=True)
        raise
    except Exception as error:
        if summary_output is not None:  # a script reading it learns the run failed, where and why
            failure = {
                "status": "failed",
                "failed_stage": progress.failed,
                "error": str(error),
                "stage_seconds": progress.seconds,
            }
            try:
                summary_output.write_text(json.dumps(failure, indent=2))
            except (FraudDetectionError, OSError) as unwritten:  # the run's own error is the one to show
                typer.echo(f"warning: --summary-json was not written: {unwritten}", err=True)
        raise
    report(summary)


def _run_flow(
    source: str | None, force_promotion: bool, report: Callable[[PipelineSummary], None]
) -> PipelineSummary:
    # Imported here: Prefect's import costs ~1.5 s that the other commands should not pay.
    from fraud_detection.flows.finished import run_keeping_result
    from fraud_detection.flows.training import training_pipeline

    summary, lost = run_keeping_result(
        training_pipeline.fn.__name__,
        lambda: training_pipeline(source=source, force_promotion=force_promotion),
        on_hang=hang_ending("pipeline", report),
    )
    warn_unrecorded("pipeline", lost)
    exit_within_later("pipeline", end_lost=lost is not None)  # armed once the command returns
    return summary


# A summary is a few KB; a file much larger is something else (a dataset given by mistake).
SUMMARY_MAX_BYTES = 1_000_000


def _replaceable(path: Path | None) -> bool:
    """Nothing there (or an S3 object), or a previous run's summary. `--summary-json data.csv --source
    data.csv` replaced the run's own source with the summary."""
    try:
        if path is None or not path.exists():
            return True
        if not path.is_file() or path.stat().st_size > SUMMARY_MAX_BYTES:
            return False
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):  # unreadable, or not JSON (UnicodeDecodeError is a ValueError)
        return False
    return isinstance(document, dict) and document.get("status") in {"succeeded", "failed", "interrupted"}


def _outcome(summary: PipelineSummary) -> str:
    if summary.version is None:
        return "nothing registered"
    outcome = summary.decision.outcome if summary.decision is not None else "keep"
    kept = {"promote": "promoted", "staged": "rollout started", "keep": "champion kept"}[outcome]
    return f"v{summary.version.version} registered, {kept}"
