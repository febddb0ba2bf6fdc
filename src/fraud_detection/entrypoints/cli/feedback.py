"""`fraud feedback add|import` (labels from the chargeback process) and `fraud quality measure`."""

from __future__ import annotations

import csv
import itertools
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fraud_detection.domain.clients import NAME, scoped_id
from fraud_detection.domain.errors import DataSourceError, InvalidDataError
from fraud_detection.domain.feedback import (
    TRANSACTION_ID,
    LabelContradictions,
    LabelInput,
    LabelOutcome,
    LabelResult,
    contradiction_problem,
    future_label_problem,
    label_name,
    stale_label_problem,
)
from fraud_detection.entrypoints.cli.context import console, container, print_table, stdout
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors
from fraud_detection.entrypoints.cli.outputs import URL_LIKE
from fraud_detection.entrypoints.cli.terminated import stop_exit_code, stop_verb

if TYPE_CHECKING:
    from fraud_detection.application.feedback import RecordFeedback, StoredQualityReport

NAMESPACE_HINT = "; ids scored through the API are kept per namespace: pass --namespace"
app = typer.Typer(help="Record confirmed fraud/legit labels for scored transactions.", no_args_is_help=True)
quality_app = typer.Typer(help="Realised model quality on labelled transactions.", no_args_is_help=True)

ID, IS_FRAUD, LABELLED_AT = "transaction_id", "is_fraud", "labelled_at"
LABEL_VALUES = {"1": True, "1.0": True, "true": True, "fraud": True} | {
    "0": False, "0.0": False, "false": False, "legit": False,
}  # fmt: skip
IMPORT_CHUNK = 1_000  # labels recorded per store transaction
NAMESPACE_HELP = (
    "Namespace of the API client that scored the transactions: the API stores ids as NAMESPACE:ID. "
    "Omit it for ids stored without one."
)
Namespace = Annotated[str | None, typer.Option(help=NAMESPACE_HELP)]
IDS_SHOWN = 10


@app.command()
@handles_user_errors
def add(
    transaction_id: Annotated[str, typer.Option("--id", help="The transaction_id it was scored with.")],
    fraud: Annotated[bool, typer.Option("--fraud", help="Confirmed fraud (or --legit).")] = False,
    legit: Annotated[bool, typer.Option("--legit", help="Confirmed legit (or --fraud).")] = False,
    at: Annotated[
        str | None, typer.Option(help="When it was established (ISO 8601; UTC if no zone). Default: now.")
    ] = None,
    namespace: Namespace = None,
) -> None:
    """Record one label. Exits 2 when the id is unknown or already has the other label (kept)."""
    if fraud == legit:
        # One boolean flag pair let the last of `--fraud --legit` win, and a recorded label is never replaced.
        raise fail("give one of --fraud or --legit" + (", not both" if fraud else ""))
    is_fraud = fraud
    check_id(transaction_id, "--id")
    check_namespace(namespace)
    c = container()
    labelled_at = None
    if at is not None:  # "" is refused by the parser, not taken as "now"
        labelled_at = parse_time(at, "--at", (c.settings().feedback_retention_days, datetime.now(UTC)))
    stored = scoped_id(namespace, transaction_id) if namespace else transaction_id
    result = c.feedback.record()([LabelInput(stored, is_fraud, labelled_at)])[0]
    if result.outcome is LabelOutcome.UNKNOWN:
        raise fail(
            f"no scored transaction with id '{transaction_id}' (never scored, or past retention)"
            + ("" if namespace else NAMESPACE_HINT)
        )
    if result.outcome is LabelOutcome.CONFLICT:
        raise fail(f"'{transaction_id}' is already labelled {label_name(not is_fraud)}; the label was kept")
    stdout.print(f"{transaction_id}: {label_name(is_fraud)} ({result.outcome.value})")


@app.command("import")
@handles_user_errors
def import_labels(
    file: Annotated[
        str,
        typer.Argument(metavar="FILE.csv", help="Local file; header transaction_id,is_fraud[,labelled_at]."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    namespace: Namespace = None,
) -> None:
    """Record labels from a CSV file. is_fraud: 1/0, true/false or fraud/legit; labelled_at: ISO 8601 (UTC if
    no zone), default now. The whole file is checked before anything is recorded. Exits 2 when no label was
    recorded (every id unknown or conflicting)."""
    check_namespace(namespace)
    if not file.strip():  # Path("") is the current folder: "cannot open .: Is a directory"
        raise fail("FILE.csv: empty; give the CSV file of labels")
    if URL_LIKE.match(file):  # a `Path` argument would read `s3://b/k` as the local `s3:/b/k`
        raise fail(f"FILE.csv: cannot read '{file}'; labels are imported from a local file")
    path = Path(file).expanduser()
    c = container()
    # One reference time for every check of the file: a row at the retention's edge passes or fails once.
    retention = (c.settings().feedback_retention_days, datetime.now(UTC))
    # First pass: a bad row refuses the file, nothing recorded.
    rows = sum(1 for _ in read_labels(path, retention))
    if not rows:
        raise InvalidDataError(str(path), "no rows (header only)")
    record = c.feedback.record()
    results: list[LabelResult] = []
    labels = read_labels(path, retention)
    try:
        _record_chunks(labels, record, namespace, retention[1], results)
    except KeyboardInterrupt as error:
        # Each chunk is recorded whole (one transaction): say how far it got; a re-run reports those again
        # as duplicates. Before, "interrupted" alone left the operator to guess whether anything was kept.
        typer.echo(
            f"{stop_verb(error)}: {len(results):,} of {rows:,} labels were handled and stay recorded; "
            "importing the file again reports them as duplicates",
            err=True,
        )
        sys.exit(stop_exit_code(error))
    report_import(path, results, as_json)
    if not any(result.outcome.accepted for result in results):  # as the API's 404/409 and `feedback add`
        hint = "" if namespace else NAMESPACE_HINT
        raise fail(f"{path}: no label was recorded: none names a scored transaction without a conflict{hint}")


def _record_chunks(
    labels: Iterator[LabelInput],
    record: RecordFeedback,
    namespace: str | None,
    checked_at: datetime,
    results: list[LabelResult],
) -> None:
    """Record `labels` IMPORT_CHUNK at a time, appending each chunk's results once it is stored."""
    while chunk := list(itertools.islice(labels, IMPORT_CHUNK)):
        if namespace:
            stored = record(
                [
                    replace(label, transaction_id=scoped_id(namespace, label.transaction_id))
                    for label in chunk
                ],
                checked_at=checked_at,
            )
            chunk_results = [
                replace(r, transaction_id=label.transaction_id)
                for r, label in zip(stored, chunk, strict=True)
            ]
        else:
            chunk_results = record(chunk, checked_at=checked_at)
        results += chunk_results


@quality_app.command()
@handles_user_errors
def measure(
    days: Annotated[
        float | None,
        typer.Option(
            help="Window: transactions scored in the last N days. Default: FRAUD_QUALITY_WINDOW_DAYS."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored JSON report.")] = False,
) -> None:
    """Precision and recall of the served decisions per model version, over labelled transactions; stores the
    report as quality/latest.json (what the API's /metrics exports) and a timestamped copy."""
    from fraud_detection.domain.windows import window_days_problem

    if days is not None and (problem := window_days_problem(days)) is not None:  # before the store opens
        raise fail(f"--days: {problem}")
    c = container()
    stored = c.feedback.measure_quality()(days if days is not None else c.settings().quality_window_days)
    if as_json:
        print(json.dumps(stored.document, indent=2))
        return
    describe_quality(stored)


def check_namespace(namespace: str | None) -> None:
    if namespace is not None and not NAME.fullmatch(namespace):
        raise InvalidDataError("--namespace", f"'{namespace}' is not a namespace ({NAME.pattern})")


def check_id(text: str, source: str, row: int | None = None, column: str | None = None) -> None:
    if not TRANSACTION_ID.fullmatch(text):
        problem = f"{text!r} is not a transaction id (1-128 of A-Z a-z 0-9 . _ : -)"
        raise InvalidDataError(source, problem, column=column, row=row)


# The feedback retention in days, and the time it is judged from.
Retention = tuple[float, datetime]


def parse_time(
    text: str,
    source: str,
    retention: Retention | None = None,
    row: int | None = None,
    column: str | None = None,
) -> datetime:
    """A label's time: ISO 8601 (UTC without a zone), not ahead of now, not before the retention."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        problem = f"{text!r} is not an ISO 8601 time"
        raise InvalidDataError(source, problem, column=column, row=row) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    refused = future_label_problem(moment, now)
    if refused is None and retention is not None:
        refused = stale_label_problem(moment, retention[1], retention[0])
    if refused is not None:
        raise InvalidDataError(source, refused, column=column, row=row)
    return moment


HEADER_HINT = "transaction_id,is_fraud[,labelled_at]"


def read_labels(path: Path, retention: Retention | None = None) -> Iterator[LabelInput]:
    """Labels of a CSV file, streamed; InvalidDataError names the file, column and row of a bad value."""
    source = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise DataSourceError(f"cannot open {source}: {error.strerror or error}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            yield from labels_of(reader, source, retention)
        except UnicodeDecodeError:
            problem = f"not UTF-8 text; labels are imported from a CSV file ({HEADER_HINT})"
            raise InvalidDataError(source, problem) from None
        except csv.Error as error:  # a field over the csv module's size limit, say
            raise InvalidDataError(
                source, f"not readable as CSV: {error}", row=max(reader.line_num - 2, 0)
            ) from None


def labels_of(
    reader: Iterator[list[str]], source: str, retention: Retention | None = None
) -> Iterator[LabelInput]:
    header = [name.strip() for name in next(reader, [])]
    check_header(header, source)
    at_column = header.index(LABELLED_AT) if LABELLED_AT in header else None
    id_column, label_column = header.index(ID), header.index(IS_FRAUD)
    contradictions = LabelContradictions()
    for row, values in enumerate(reader):
        if not values:
            continue  # a blank line
        if len(values) != len(header):
            problem = f"{len(values)} fields, expected {len(header)} ({', '.join(header)})"
            raise InvalidDataError(source, problem, row=row)
        text = values[label_column].strip().lower()
        if text not in LABEL_VALUES:
            problem = f"{values[label_column]!r} is not a label: use 1/0, true/false or fraud/legit"
            raise InvalidDataError(source, problem, column=IS_FRAUD, row=row)
        transaction_id = values[id_column].strip()
        check_id(transaction_id, source, row, ID)
        at = values[at_column].strip() if at_column is not None else ""
        labelled_at = parse_time(at, source, retention, row, LABELLED_AT) if at else None
        is_fraud = LABEL_VALUES[text]
        earlier = contradictions.earlier(transaction_id, is_fraud, row)
        if earlier is not None:
            problem = contradiction_problem(transaction_id, is_fraud, f"row {earlier + 1}")
            raise InvalidDataError(source, problem, column=IS_FRAUD, row=row)
        yield LabelInput(transaction_id, is_fraud, labelled_at)


def check_header(header: Sequence[str], source: str) -> None:
    if not header:
        raise InvalidDataError(source, "empty file (expected a header transaction_id,is_fraud[,labelled_at])")
    missing = [name for name in (ID, IS_FRAUD) if name not in header]
    if missing:
        raise InvalidDataError(source, f"missing columns {missing}", column=missing[0])
    extra = [name for name in header if name not in (ID, IS_FRAUD, LABELLED_AT)]
    if extra:
        raise InvalidDataError(source, f"unexpected columns {extra}", column=extra[0])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InvalidDataError(source, f"duplicated columns {repeated}", column=repeated[0])


def report_import(path: Path, results: list[LabelResult], as_json: bool) -> None:
    counts = Counter(result.outcome for result in results)
    rejected = {
        outcome: [r.transaction_id for r in results if r.outcome is outcome]
        for outcome in (LabelOutcome.UNKNOWN, LabelOutcome.CONFLICT)
    }
    if as_json:
        document = {"file": str(path), "counts": {o.value: counts[o] for o in LabelOutcome}}
        print(json.dumps(document | {o.value: ids for o, ids in rejected.items()}, indent=2))
        return
    summary = ", ".join(f"{counts[outcome]} {outcome.value}" for outcome in LabelOutcome)
    stdout.print(f"{path}: {len(results)} labels: {summary}")
    for outcome, ids in rejected.items():
        if ids:
            more = f" and {len(ids) - IDS_SHOWN} more" if len(ids) > IDS_SHOWN else ""
            console.print(f"{outcome.value}: {', '.join(ids[:IDS_SHOWN])}{more}")


def describe_quality(stored: StoredQualityReport) -> None:
    report = stored.report
    window = f"{report.window.start:%Y-%m-%d %H:%M} to {report.window.end:%Y-%m-%d %H:%M} UTC"
    stdout.print(f"realised quality of transactions scored {window}: {report.labelled} labelled")
    if report.models:
        table = Table("model version", "labelled", "alerts confirmed", "false alerts", "missed frauds",
                      "true legit", "precision", "recall")  # fmt: skip
        for model in report.models:
            table.add_row(
                str(model.model_version), str(model.labelled), str(model.true_positives),
                str(model.false_positives), str(model.false_negatives), str(model.true_negatives),
                _ratio(model.precision), _ratio(model.recall),
            )  # fmt: skip
        print_table(table)
        side = Table("model version", "precision", "estimated", "recall", "estimated",
                     title="realised vs estimated from the scores alone (as a drift check)")  # fmt: skip
        for model in report.models:
            side.add_row(
                str(model.model_version), _ratio(model.precision), _ratio(model.estimated_precision),
                _ratio(model.recall), _ratio(model.estimated_recall),
            )  # fmt: skip
        print_table(side)
    else:
        console.print(  # the window is of scoring times: labels of older transactions were read as missing
            "no transaction scored in this window has a label: widen it with --days (a label counts by its "
            "transaction's scoring time), or add labels (`fraud feedback add|import`, POST /v1/feedback)"
        )
    stdout.print(f"stored: {stored.latest_uri} (copy: {stored.copy_uri})")


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
