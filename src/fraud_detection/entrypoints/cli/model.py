"""`fraud model list|show|history|promote|rollback`: operate the registry by hand."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from fraud_detection.domain.model import CHAMPION, VERSION_MAX, ModelVersion
from fraud_detection.entrypoints.cli.context import console, container, print_table, stdout
from fraud_detection.entrypoints.cli.errors import handles_user_errors
from fraud_detection.entrypoints.cli.reasons import checked_reason

app = typer.Typer(help="List, promote and roll back registered model versions.", no_args_is_help=True)


@app.command("list")
@handles_user_errors
def list_versions(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Registered versions, newest first, with their aliases and test metrics."""
    versions = container().models.admin().list_versions()
    if as_json:
        print(json.dumps([asdict(v) for v in versions], indent=2))
        return
    if not versions:
        settings = container().settings()
        where = (  # the URI is not printed: a server's may hold credentials
            "in the registry MLFLOW_TRACKING_URI names"
            if settings.mlflow_tracking_uri
            else f"in FRAUD_HOME {settings.home.resolve()} (a relative FRAUD_HOME is read from this folder)"
        )
        console.print(f"no model registered yet {where}; run `fraud pipeline run`")
        return
    table = Table(
        "version", "aliases", "created", "out-of-time AUPRC", "threshold", "features", "dataset", "gate"
    )
    for v in versions:
        meta = v.metadata
        table.add_row(
            str(v.version),
            ", ".join(v.aliases),
            v.created_at[:19],
            f"{meta.metrics.get('auprc', float('nan')):.4f}" if meta else "",
            f"{meta.threshold:.4f}" if meta else "",
            meta.feature_version if meta else "",
            meta.dataset_id[:12] if meta else "",
            v.tags.get("promotion_decision", ""),
        )
    print_table(table)


@app.command()
@handles_user_errors
def show(
    version: Annotated[int, typer.Argument(min=1, max=VERSION_MAX, help="Version to describe.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Everything recorded about VERSION: its data (still stored?), training configuration and settings,
    code and who ran it, what started a retrain, the gate's decision, and its moves as champion."""
    lineage = container().models.describe()(version)
    document = lineage.as_dict()
    if as_json:
        print(json.dumps(document, indent=2))
        return
    stdout.print(lineage.version.label, markup=False, highlight=False)
    for name, value in _lines(document):
        stdout.print(f"  {name:<16}{value}", markup=False, highlight=False)


def _lines(document: dict[str, Any]) -> list[tuple[str, str]]:
    """One line per fact, skipping what was never recorded (a version from before it was)."""
    dataset, gate, run = document["dataset"], document["gate"], document["run"]
    provenance, metrics = document["provenance"], document["out_of_time_metrics"]
    rows = (
        f"{dataset['rows']:,} rows, {dataset['frauds']:,} frauds, from {dataset['source']}; "
        if ("rows" in dataset)
        else ""
    )
    lines = [
        ("created", str(document["created_at"])),
        ("threshold", f"{document['threshold']}" if document["threshold"] is not None else ""),
        ("features", str(document["feature_version"] or "")),
        ("out-of-time", ", ".join(f"{k} {_figure(v)}" for k, v in metrics.items())),
        ("dataset", f"{dataset['id']} ({rows}{dataset['state']})" if dataset["id"] else "(no metadata)"),
        ("config", ", ".join(f"{k}={v}" for k, v in (document["training_config"] or {}).items())),
        ("gate", f"{gate['decision']}: {gate['reason']}" if gate["decision"] else ""),
        (
            "registration",
            f"FAILED: {document['registration_failed']}" if document["registration_failed"] else "",
        ),
        ("code", " ".join(filter(None, [provenance.get("code_version"), provenance.get("commit")]))),
        ("by", "@".join(filter(None, [provenance.get("user"), provenance.get("host")]))),
        ("retrain", _retrain(provenance)),
        (
            "run",
            f"{run['id']} {run['status']} {run['started']}..{run['ended']} {run['location']}" if run else "",
        ),
        ("model sha256", str(document["model_sha256"] or "")),
    ]
    lines += [
        ("champion since", f"{move['at']} replacing v{move['replaced']}: {move['reason']} ({move['by']})")
        if move["replaced"] is not None
        else ("champion since", f"{move['at']}: {move['reason']} ({move['by']})")
        for move in document["champion_moves"]
    ]
    return [(name, value) for name, value in lines if value]


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4f}"


def _retrain(provenance: dict[str, str]) -> str:
    if "retrain_reason" not in provenance:
        return ""
    rows, since = provenance.get("retrain_labelled_rows", "?"), provenance.get("retrain_lookback_since", "?")
    base = provenance.get("retrain_base_dataset", "?")[:12]
    return f"{provenance['retrain_reason']}; {rows} labelled rows since {since} on dataset {base}"


@app.command()
@handles_user_errors
def history(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Every move of the champion, oldest first: when, to which version, replacing which, why, by whom.
    Kept on the versions (`champion.*` tags) and never rewritten, unlike the rollback stack."""
    moves = container().models.admin().history()
    if as_json:
        print(json.dumps([asdict(m) for m in moves], indent=2))
        return
    if not moves:
        console.print("no champion move recorded (moves are recorded since this release)")
        return
    table = Table("at (UTC)", "champion", "replaced", "reason", "by")
    for move in moves:
        replaced = "" if move.replaced is None else str(move.replaced)
        table.add_row(move.at[:23], str(move.version), replaced, move.reason, move.by)
    print_table(table)


@app.command()
@handles_user_errors
def promote(
    version: Annotated[int, typer.Argument(min=1, max=VERSION_MAX, help="Version to make champion.")],
    reason: Annotated[
        str, typer.Option(help="Why (recorded with the move: `fraud model history`).")
    ] = "promoted by an operator",
) -> None:
    """Make VERSION the champion now (bypasses the gate; the replaced champion is remembered)."""
    c = container()
    before = c.adapters.registry().get_by_alias(CHAMPION)
    promoted = c.models.admin().promote(version, checked_reason(reason))
    if before is not None and before.version == version:  # "champion is now" claimed a move that was not
        stdout.print(f"{promoted.name} v{promoted.version} is already the champion; nothing moved")
        return
    _report(promoted)


@app.command()
@handles_user_errors
def rollback(
    to: Annotated[
        int | None,
        typer.Option(min=1, max=VERSION_MAX, help="Version to restore (default: the previous champion)."),
    ] = None,
) -> None:
    """Put the previous champion (or --to VERSION) back."""
    _report(container().models.admin().rollback(to))


def _report(version: ModelVersion) -> None:
    stdout.print(f"champion is now {version.label}")
