"""`fraud data ...`: generate synthetic transactions, ingest a raw file, list and prune stored datasets."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from fraud_detection.entrypoints.cli.context import console, container, print_table, stdout
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors
from fraud_detection.entrypoints.cli.numbers import number_in
from fraud_detection.entrypoints.cli.outputs import Output, refuse_the_store

app = typer.Typer(help="Generate, ingest, list and prune datasets.", no_args_is_help=True)


@app.command()
@handles_user_errors
def generate(
    output: Annotated[
        str | None,
        typer.Option(
            metavar="PATH", help="File to write (.csv, .csv.gz, .parquet): a path or s3://bucket/key."
        ),
    ] = None,
    rows: Annotated[
        int | None, typer.Option(min=1, help="Rows (default FRAUD_GENERATOR_ROWS; at most 10,000,000).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default FRAUD_SEED).")] = None,
    fraud_rate: Annotated[
        float | None,
        typer.Option(
            parser=number_in(0.0, 1.0),
            help="Share of frauds, 0 to 1 (default 0.00172, the Kaggle data's); with a scenario that changes "
            "the share (fraud_rate_change), the share it changes to.",
        ),
    ] = None,
    scenario: Annotated[str, typer.Option(help="Drift scenario (see `fraud data scenarios`).")] = "none",
    if_absent: Annotated[bool, typer.Option(help="Do nothing when the output exists.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output.")] = False,
) -> None:
    """Write a synthetic dataset with the exact schema of Kaggle's creditcard.csv."""
    from fraud_detection.settings.training import GENERATOR_MAX_ROWS, SEED_MAX
    from fraud_detection.simulation import (
        generate_transactions,
        get_scenario,
        write_transactions,
    )
    from fraud_detection.simulation.generator import DEFAULT_FRAUD_RATE
    from fraud_detection.simulation.writer import SUFFIXES

    if rows is not None and rows > GENERATOR_MAX_ROWS:  # a bound here, not in typer: it says why
        raise fail(
            f"--rows: {rows:,} is more than {GENERATOR_MAX_ROWS:,} (~1 KB of memory a row while generating)"
        )
    if if_absent and force:
        raise fail("--if-absent and --force: keep an existing output or overwrite it, not both")
    settings = container().settings()
    option = "--output" if output is not None else "FRAUD_DATASET_PATH"  # "" is refused, not the default
    target = Output.parse(str(settings.resolved_dataset_path) if output is None else output, option)
    refuse_the_store(target, settings.resolved_storage_uri, option)
    if not target.name.lower().endswith(SUFFIXES):  # checked before minutes of generating, not after
        raise fail(f"{option}: '{target.text}' has an unsupported suffix; use one of {', '.join(SUFFIXES)}")
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise fail(f"--seed: must be between 0 and {SEED_MAX}, got {seed}")
    try:
        drift = get_scenario(scenario)
        if fraud_rate is not None and drift.fraud_rate is not None:  # it was dropped without a word
            drift = get_scenario(scenario, fraud_rate=fraud_rate)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scenario") from None
    if (if_absent or not force) and target.exists():
        if if_absent:
            console.print(f"{target.text} exists; nothing to do")
            return
        raise fail(f"{target.text} exists; pass --force to overwrite or --if-absent to keep it")
    n = rows or settings.generator_rows
    started = time.perf_counter()
    with console.status(f"generating {n:,} transactions..."):
        frame = generate_transactions(
            n,
            seed=settings.seed if seed is None else seed,
            fraud_rate=DEFAULT_FRAUD_RATE if fraud_rate is None else fraud_rate,
            scenario=drift,
        )
        target.write_with(lambda path: write_transactions(frame, path))
    frauds = int(frame["Class"].sum())
    console.print(
        f"wrote {target.text} ({len(frame):,} rows, {frauds:,} frauds, scenario {drift.name}) "
        f"in {time.perf_counter() - started:.1f}s"
    )


@app.command()
def scenarios() -> None:
    """List the generator's drift scenarios."""
    from fraud_detection.simulation import SCENARIOS

    for name, scenario in SCENARIOS.items():
        stdout.print(f"[bold]{name}[/]: {scenario.description}")


@app.command()
@handles_user_errors
def ingest(
    source: Annotated[str, typer.Argument(help="Path, s3://bucket/key or kaggle://owner/dataset")],
) -> None:
    """Read a raw creditcard CSV (plain or gzip) or Parquet and store it content-addressed as Parquet."""
    with console.status(f"ingesting {source}..."):
        ref = container().training.ingest()(source, warn=_warn)
    console.print(f"dataset {ref.id.value}\n  {ref.rows:,} rows, {ref.frauds:,} frauds -> {ref.uri}")
    stdout.print(ref.id.value)


def _warn(text: str) -> None:
    typer.echo(f"warning: {text}", err=True)


@app.command("list")
@handles_user_errors
def list_datasets() -> None:
    """Stored datasets, newest first."""
    table = Table("id", "rows", "frauds", "created", "source")
    for ref in container().adapters.datasets().list():
        table.add_row(ref.id.short, f"{ref.rows:,}", f"{ref.frauds:,}", ref.created_at[:19], ref.source)
    print_table(table)


@app.command()
@handles_user_errors
def prune(
    keep_versions: Annotated[
        int,
        typer.Option(
            min=0,
            max=10_000,
            help="Keep the data of this many newest versions, and of as many rollback targets.",
        ),
    ] = 3,
    min_age_hours: Annotated[
        float,
        typer.Option(
            parser=number_in(0.0, 1e6),
            help="Keep datasets stored (or saved again) less than this ago (a run may be using one; 0 to "
            "1,000,000).",
        ),
    ] = 24.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; remove nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Remove without asking (needed when not on a terminal).")
    ] = False,
) -> None:
    """Remove stored datasets no version needs: every dataset is kept that an aliased version (champion,
    challenger), one of the newest versions or one of the newest rollback targets was trained on, or that
    was saved less than --min-age-hours ago; a note stays in each removed one's place. Refused (exit 2)
    when the registry shows no champion."""
    from datetime import timedelta

    from fraud_detection.domain.dataset_retention import RetentionPolicy

    policy = RetentionPolicy(keep_versions, timedelta(hours=min_age_hours))
    retention = container().models.dataset_retention()
    plan = retention.plan(policy)
    table = Table("id", "rows", "created", "action", "why / trained versions")
    for kept in plan.kept:
        ref = kept.dataset
        table.add_row(ref.id.short, f"{ref.rows:,}", ref.created_at[:19], "keep", kept.reason)
    for item in plan.removable:
        ref, trained = item.dataset, ", ".join(f"v{v}" for v in item.versions) or "none"
        table.add_row(ref.id.short, f"{ref.rows:,}", ref.created_at[:19], "remove", f"trained {trained}")
    print_table(table)
    count, rows = len(plan.removable), plan.removable_rows
    summary = f"{count} of {count + len(plan.kept)} datasets ({rows:,} rows)"  # "of 2": never one
    if not count:
        console.print(f"nothing to remove ({len(plan.kept)} datasets kept)")
        return
    if dry_run:
        console.print(f"would remove {summary}")
        return
    if not yes:
        if not console.is_terminal:
            raise fail(f"would remove {summary}: pass --yes to remove them, or --dry-run to only list them")
        if not typer.confirm(f"remove {summary}?", err=True):
            raise fail("nothing removed", 1)
    removed = retention.prune(plan, policy, lambda done, total: console.print(f"  removed {done}/{total}"))
    noun = "dataset" if removed == 1 else "datasets"
    console.print(f"removed {removed} {noun}; the runs of versions trained on them keep their ids")
