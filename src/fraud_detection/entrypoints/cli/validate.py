"""`fraud validate DATASET`: run the expectation suite on a stored dataset or a file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from fraud_detection.domain.errors import EMPTY_SOURCE
from fraud_detection.entrypoints.cli.context import console, container, stdout
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors

HEX_PREFIX = re.compile(r"^[0-9a-f]{1,64}$")  # a dataset id or any prefix of it
SUITE_FAILED = 1


@handles_user_errors
def validate(
    dataset: Annotated[str, typer.Argument(help="Stored dataset id (or unique prefix), or a file path/URI.")],
) -> None:
    """Validate data; prints each failed expectation. Exit 0 when it passes, 1 when the suite fails."""
    from fraud_detection.domain.dataset import DatasetId
    from fraud_detection.domain.schema import check_transactions

    if not dataset.strip():  # `fraud validate "$DATA"` with DATA unset; read as a path, it was "a directory"
        raise fail(f"DATASET: {EMPTY_SOURCE}, or a stored dataset id")
    c = container()
    with console.status("validating..."):
        if HEX_PREFIX.fullmatch(dataset) and not Path(dataset).exists():  # a file named like hex stays a file
            ref = c.adapters.datasets().resolve(dataset)
            frame, dataset_id = c.adapters.datasets().load(ref.id), ref.id.value
        else:
            frame = check_transactions(c.adapters.transaction_source().read(dataset), dataset)
            dataset_id = DatasetId.of(frame).value
        result = c.training.validate()(frame, dataset_id)
    report = result.report
    for failure in report.failures:
        stdout.print(f"[red]FAILED[/] {failure.describe()}", highlight=False)
    verdict = "[green]PASSED[/]" if report.success else "[red]FAILED[/]"
    passed = len(report.outcomes) - len(report.failures)  # the failures are listed above, one a line
    stdout.print(f"{verdict} {passed}/{len(report.outcomes)} expectations passed", highlight=False)
    console.print(f"report: {result.html_uri}")
    if not report.success:
        raise typer.Exit(SUITE_FAILED)
