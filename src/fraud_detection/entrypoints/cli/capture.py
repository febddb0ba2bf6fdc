"""`fraud capture compact`: merge each closed hour's capture files into one (see compaction.py).

The hourly drift Lambda and the scheduled drift flow run it before their check; this command is for a
backlog (after an upgrade, or hours the Lambda's time budget left) and for stores nothing schedules."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fraud_detection.domain.compaction import LOOKBACK_HOURS
from fraud_detection.domain.windows import MAX_WINDOW_HOURS
from fraud_detection.entrypoints.cli.context import console, container
from fraud_detection.entrypoints.cli.errors import handles_user_errors
from fraud_detection.entrypoints.cli.numbers import number_in

app = typer.Typer(help="Upkeep of captured predictions.", no_args_is_help=True)


@app.command()
@handles_user_errors
def compact(
    hours: Annotated[
        float,
        typer.Option(
            parser=number_in(1.0, MAX_WINDOW_HOURS),
            help="Look back this many hours (closed hours only; 1 to 8,784).",
        ),
    ] = LOOKBACK_HOURS,
    budget: Annotated[
        float | None,
        typer.Option(
            parser=number_in(1.0),
            help="Start no hour after this many seconds (at least 1); the rest waits for the next run.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Merge the capture files of each closed hour of the last --hours into one file, so days of traffic
    read an object an hour; the merged files are deleted by a run 30 minutes or more later. Reads give the
    same rows before, during and after."""
    with console.status("merging captured predictions, hour by hour..."):
        summary = container().drift.compact()(hours, budget)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
        return
    console.print(
        f"merged {summary.files_merged:,} files into {summary.hours:,} hourly files ({summary.rows:,} rows); "
        f"deleted {summary.files_deleted:,} files merged earlier"
    )
    if summary.hours_left:
        console.print(f"{summary.hours_left:,} hours left by the time budget: run again")
