"""`fraud config`: every setting, its environment variable, current value and meaning."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import AliasChoices
from rich.table import Table

from fraud_detection.entrypoints.cli.context import stdout
from fraud_detection.entrypoints.cli.errors import handles_user_errors
from fraud_detection.settings import Settings


def variables() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) per setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env = alias.choices[0] if isinstance(alias, AliasChoices) else f"FRAUD_{name.upper()}"
        default = "" if field.default is None else str(field.default)
        rows.append((str(env), default, field.description or ""))
    return rows


@handles_user_errors
def show(
    markdown: Annotated[bool, typer.Option(help="Print the README's Markdown table instead.")] = False,
) -> None:
    """Show the configuration reference (and the values in effect)."""
    current = Settings().model_dump()
    if markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for env, default, description in variables():
            print(f"| `{env}` | `{default}` | {description} |".replace("``", "(unset)"))
        return
    table = Table("variable", "value", "meaning")
    for (env, _, description), value in zip(variables(), current.values(), strict=True):
        table.add_row(env, "" if value is None else str(value), description)
    stdout.print(table)
