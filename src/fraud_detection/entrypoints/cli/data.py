"""`fraud data ...`: generate synthetic transactions, ingest a raw file, list stored datasets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fraud_detection.entrypoints.cli.context import console, container, print_table, stdout
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors

app = typer.Typer(help="Generate, ingest and list datasets.", no_args_is_help=True)


@app.command()
@handles_user_errors
def generate(
    output: Annotated[Path | None, typer.Option(help="File to write (.csv, .csv.gz, .parquet).")] = None,
    rows: Annotated[int | None, typer.Option(min=1, help="Rows (default FRAUD_GENERATOR_ROWS).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default FRAUD_SEED).")] = None,
    fraud_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of frauds.")] = 0.00172,
    scenario: Annotated[str, typer.Option(help="Drift scenario (see `fraud data scenarios`).")] = "none",
    if_absent: Annotated[bool, typer.Option(help="Do nothing when the output exists.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output.")] = False,
) -> None:
    """Write a synthetic dataset with the exact schema of Kaggle's creditcard.csv."""
    from fraud_detection.simulation import (
        generate_transactions,
        get_scenario,
        write_transactions,
    )

    settings = container().settings()
    target = output or settings.resolved_dataset_path
    if target.exists() and if_absent:
        console.print(f"{target} exists; nothing to do")
        return
    if target.exists() and not force:
        raise fail(f"{target} exists; pass --force to overwrite or --if-absent to keep it")
    try:
        drift = get_scenario(scenario)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scenario") from None
    n = rows or settings.generator_rows
    started = time.perf_counter()
    with console.status(f"generating {n:,} transactions..."):
        frame = generate_transactions(
            n, seed=settings.seed if seed is None else seed, fraud_rate=fraud_rate, scenario=drift
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        write_transactions(frame, target)
    frauds = int(frame["Class"].sum())
    console.print(
        f"wrote {target} ({len(frame):,} rows, {frauds:,} frauds, scenario {drift.name}) "
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
        ref = container().training.ingest()(source)
    console.print(f"dataset {ref.id.value}\n  {ref.rows:,} rows, {ref.frauds:,} frauds -> {ref.uri}")
    stdout.print(ref.id.value)


@app.command("list")
@handles_user_errors
def list_datasets() -> None:
    """Stored datasets, newest first."""
    table = Table("id", "rows", "frauds", "created", "source")
    for ref in container().adapters.datasets().list():
        table.add_row(ref.id.short, f"{ref.rows:,}", f"{ref.frauds:,}", ref.created_at[:19], ref.source)
    print_table(table)
