"""The CLI in a pipe: a long line stays whole (a URI copies out in one piece), a table is tab-separated."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.table import Table

from fraud_detection.entrypoints.cli.context import console, print_table, stdout

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


def test_a_piped_table_is_tab_separated_without_markup(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table("evidence", "[bold]fired[/bold]")
    table.add_row("alert_rate", "[red]yes[/red]")
    table.add_row("score_distribution", "")
    print_table(table)
    assert capsys.readouterr().out.splitlines() == [
        "evidence\tfired",
        "alert_rate\tyes",
        "score_distribution\t",
    ]
