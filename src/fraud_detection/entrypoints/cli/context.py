"""The consoles, and the process's container for a CLI command.

The container is imported when a command first asks for it: building it imports the use cases (pandas,
numpy), which `fraud --help` and the commands that do not need them should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from fraud_detection.composition import Container

# soft_wrap: a line longer than the width (80 in a pipe) stays one line; rich would break it, mid-path
# too, so a URI copied from a log or a terminal came out in pieces. Tables and progress bars still fit.
console = Console(stderr=True, soft_wrap=True)
stdout = Console(soft_wrap=True)


def container() -> Container:
    from fraud_detection.composition import get_container

    return get_container()


def print_table(table: Table) -> None:
    """Rich's box on a terminal; piped, plain tab-separated lines with every cell whole, so
    `fraud model list | grep champion` and `cut -f` work whatever the width."""
    if stdout.is_terminal:
        stdout.print(table)
        return
    print("\t".join(_plain(column.header) for column in table.columns))
    for row in zip(*(list(column.cells) for column in table.columns), strict=True):
        print("\t".join(_plain(cell) for cell in row))


def _plain(cell: object) -> str:
    """A cell's text without its rich markup (`[red]yes[/red]` -> `yes`); a cell that is not valid markup
    (a path holding `[/x]`) as it is."""
    if not isinstance(cell, str):
        return str(cell)
    try:
        return Text.from_markup(cell).plain
    except MarkupError:
        return cell
