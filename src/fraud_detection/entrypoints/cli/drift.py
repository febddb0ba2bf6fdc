"""`fraud drift check|show|list`: compare captured predictions with the served model's reference.

A check whose --until is not in the future is historical: its report is stored (and listed) but the live
verdict that `show` and /metrics read stays as the last live check left it, and nothing is published."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fraud_detection.entrypoints.cli.context import console, container, print_table, stdout
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors

if TYPE_CHECKING:
    from fraud_detection.domain.drift.report import DriftReport

app = typer.Typer(help="Check captured predictions for drift; show the latest report.", no_args_is_help=True)

TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
SHOWN_COLUMNS = 10


@app.command()
@handles_user_errors
def check(
    hours: Annotated[
        float | None,
        typer.Option(help="Window: the last N hours (default: FRAUD_DRIFT_WINDOW_HOURS; at most a year)."),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(formats=TIME_FORMATS, help="Window start (UTC unless an offset is given)."),
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=TIME_FORMATS, help="Window end (exclusive).")
    ] = None,
    last_rows: Annotated[
        int | None, typer.Option(min=1, help="Only the latest N rows of the window (e.g. 5000).")
    ] = None,
    publish: Annotated[
        bool,
        typer.Option(
            help="Publish DriftDetected when the model is at risk (starts retraining where subscribed)."
        ),
    ] = True,
    chart: Annotated[
        bool, typer.Option(help="Also store the report as a chart (PNG; adds about 1 s).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the window, store the report (JSON and chart) and, when the model is at risk, publish
    DriftDetected. Input drift alone is reported, never published. A window that ends in the past (--until
    not in the future) is a historical check: stored and listed, but it leaves the live verdict (`fraud
    drift show`, /metrics) as it was and never publishes."""
    if hours is not None and since is not None:
        raise fail("give --hours or --since, not both")
    from fraud_detection.domain.windows import window_hours_problem

    if hours is not None and (problem := window_hours_problem(hours)) is not None:
        raise fail(f"--hours: {problem}")
    from dependency_injector import providers

    from fraud_detection.application.drift.check import DriftWindowSpec

    ioc = container()
    # A retrain the verdict starts runs once the report is printed: during the check, its whole progress
    # came before the verdict that started it.
    ioc.adapters.retrain_launch.override(providers.Object("defer"))
    try:
        if since is not None:
            first, last = _utc(since), _utc(until)
            if first is not None and last is not None and first >= last:
                raise fail(
                    f"--since/--until: the window is empty: --since {first:%Y-%m-%d %H:%M:%S} UTC is "
                    f"not before --until {last:%Y-%m-%d %H:%M:%S} UTC; give a start before the end"
                )
            spec = DriftWindowSpec(first, last, last_rows)
        else:
            spec = DriftWindowSpec.last_hours(
                ioc.settings().drift_window_hours if hours is None else hours, _utc(until), last_rows
            )
    except OverflowError as error:  # year 1 with an offset, or a window reaching before it
        raise fail(f"--since/--until: the window is out of range ({error})") from None
    except ValueError as error:
        raise fail(str(error)) from None
    if spec.since is not None and spec.since > datetime.now(UTC):  # no row can be there: an empty report
        start = f"{spec.since:%Y-%m-%d %H:%M:%S} UTC"
        if since is not None:
            raise fail(f"--since: {start} is in the future; nothing is captured yet")
        length = f"{hours:g} h" if hours is not None else "FRAUD_DRIFT_WINDOW_HOURS"
        raise fail(f"--until: the window ({length} up to it) starts in the future, at {start}")
    with console.status("reading the window's captured predictions..."):  # a day of files: seconds
        outcome = ioc.drift.check()(spec, publish=publish, chart=chart)
    if as_json:
        print(json.dumps(outcome.report.to_dict(), indent=2))
    else:
        _print(outcome.report)
        console.print(f"report: {outcome.location}")
        if outcome.event is not None:
            console.print(f"published {outcome.event.kind}")
    if outcome.historical:
        unpublished = "; DriftDetected not published (a past window never retrains)"
        console.print(
            "stored as a historical report (the window ends before now): the live verdict "
            "(`fraud drift show`, /metrics) is unchanged" + (unpublished if outcome.report.at_risk else ""),
        )
    launcher = ioc.adapters.retrain_launcher()
    if launcher is not None:
        launcher.run_deferred()


@app.command()
@handles_user_errors
def show(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
    """The latest stored drift report."""
    from fraud_detection.domain.reports import DRIFT

    report = container().adapters.reports().latest(DRIFT)
    if report is None:
        raise fail("no drift report yet; run `fraud drift check`")
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)


@app.command("list")
@handles_user_errors
def list_reports(
    limit: Annotated[int, typer.Option(min=1, help="How many reports, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Stored drift reports, newest first, live and historical; `show` is the latest live one."""
    from fraud_detection.domain.reports import DRIFT

    reports = container().adapters.reports().recent(DRIFT, limit)
    if as_json:
        print(json.dumps([{"name": name} | r.to_dict() for name, r in reports], indent=2))
        return
    if not reports:
        console.print("no drift report yet; run `fraud drift check`")
        return
    table = Table("report", "kind", "status", "model", "rows", "window", title="drift reports, newest first")
    for name, report in reports:
        window = report.window
        table.add_row(
            name, "historical" if report.historical else "live", report.status,
            _model(report), f"{window.rows:,}",
            f"{window.start or '-'} .. {window.end or '-'}",
        )  # fmt: skip
    print_table(table)


def _model(report: DriftReport) -> str:
    """A window without rows names no version (the report stores 0): no version is shown rather than v0."""
    return f"{report.model_name} v{report.model_version}" if report.model_version else report.model_name


def _print(report: DriftReport) -> None:
    window = report.window
    stdout.print(
        f"[bold]{report.status}[/bold] {_model(report)}: {report.reason}\n"
        f"window: {window.rows:,} rows, {window.start or '-'} .. {window.end or '-'}"
        + (
            f" ({window.other_version_rows:,} rows of other versions left out)"
            if window.other_version_rows
            else ""
        )
    )
    if window.skipped_files:
        console.print(f"[yellow]skipped {len(window.skipped_files)} unreadable captured file(s)[/yellow]")
    if report.evidence:
        evidence = Table("evidence", "observed", "reference", "effect", "floor", "p-value", "fired",
                         title="model at risk?")  # fmt: skip
        for item in report.evidence:
            evidence.add_row(
                item.name, _figure(item.observed), _figure(item.reference), _figure(item.effect),
                f"{item.floor:g}", "-" if item.p_value is None else f"{item.p_value:.2g}",
                "[red]yes[/red]" if item.fired else "",
            )  # fmt: skip
        print_table(evidence)
    if not report.columns:
        return
    table = Table(
        "column", "PSI", "KS", "p-value", "drifted", title="input drift (diagnostic), largest PSI first"
    )
    for column in sorted(report.columns, key=lambda c: -c.psi if c.psi == c.psi else 0)[:SHOWN_COLUMNS]:
        table.add_row(
            column.name, f"{column.psi:.4f}", f"{column.ks_statistic:.4f}", f"{column.p_value:.2g}",
            "yes" if column.drifted else "",
        )  # fmt: skip
    print_table(table)


def _figure(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.4g}"


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
