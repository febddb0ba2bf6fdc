"""The CLI's consoles keep a long line whole: a URI printed to a pipe (width 80) copies out in one piece."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.table import Table

from fraud_detection.entrypoints.cli.context import console, stdout

URI = "file:///srv/fraud/store/drift/reports/20261205T001532387931Z-v1.json"


@pytest.mark.parametrize("target", [stdout, console], ids=["stdout", "stderr"])
def test_a_line_wider_than_the_console_is_printed_whole(target: Console) -> None:
    line = f"report: {URI} " + "and some words " * 8
    with target.capture() as captured:
        target.print(line)
    assert len(line) > target.width
    assert captured.get() == line + "\n"


@pytest.mark.parametrize("target", [stdout, console], ids=["stdout", "stderr"])
def test_tables_still_fit_the_console(target: Console) -> None:
    table = Table("report", "status")
    table.add_row(URI * 2, "insufficient_data " * 6)
    with target.capture() as captured:
        target.print(table)
    assert max(len(row) for row in captured.get().splitlines()) <= target.width
