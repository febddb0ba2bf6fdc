"""`fraud`: the command line of the fraud-detection pipeline."""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import typer

from fraud_detection.entrypoints.cli import prefect_hang, terminated
from fraud_detection.entrypoints.cli.environment import apply_defaults

app = typer.Typer(
    help="Credit-card fraud detection: data, validation, training pipeline, model registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help and usage errors (click's formatter): typer's rich formatter imports rich's Markdown
    # renderer, ~0.2 s of every `fraud --help` for boxes around the same text.
    rich_markup_mode=None,
)


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's and MLflow's logs.")
    ] = False,
) -> None:
    apply_defaults(verbose)


def _register() -> None:
    from fraud_detection.entrypoints.cli import (
        batch,
        capture,
        clients,
        config,
        data,
        drift,
        feedback,
        mlflow_ui,
        model,
        pipeline,
        retrain,
        rollout,
        serve,
        validate,
        worker,
    )

    app.add_typer(data.app, name="data")
    app.add_typer(pipeline.app, name="pipeline")
    app.add_typer(model.app, name="model")
    app.add_typer(rollout.app, name="rollout")
    app.add_typer(batch.app, name="batch")
    app.add_typer(drift.app, name="drift")
    app.add_typer(capture.app, name="capture")
    app.add_typer(feedback.app, name="feedback")
    app.add_typer(feedback.quality_app, name="quality")
    app.add_typer(clients.app, name="clients")
    app.command("validate")(validate.validate)
    app.command("config")(config.show)
    app.command("serve")(serve.serve)
    app.command("retrain")(retrain.retrain)
    app.command("worker")(worker.worker)
    app.command("mlflow-ui")(mlflow_ui.mlflow_ui)


_register()


def main() -> None:
    terminated.stop_on_sigterm()  # a container stop cleans up as Ctrl-C does
    try:
        app()
    except KeyboardInterrupt as error:
        # A stop while typer builds the command tree, before any command's own handling: a traceback and
        # exit 1 (a stop probe, 2 of 30 SIGTERMs sent 0.68-0.70 s after the start)
        typer.echo(terminated.stop_verb(error), err=True)
        sys.exit(terminated.stop_exit_code(error))
    finally:
        prefect_hang.arm_pending_exit()  # a training run's exit must not wait for ever on a hung Prefect
        # The interpreter's last full collection at exit walks every object Prefect, MLflow and pandas left
        # behind: 3.1-3.2 s after `fraud retrain` printed its last line (0.14 s after `fraud model list`).
        # Frozen objects are skipped (0.35-0.39 s and 0.01 s). What must run still runs: atexit hooks (the
        # temporary Prefect server's stop, Prefect's log and event drains), the std streams' flush; files
        # this command wrote are closed by now (atomic writes). Cyclic garbage's __del__ no longer runs.
        gc.freeze()
