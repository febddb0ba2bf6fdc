"""`fraud config`: every setting, its environment variable, current value and meaning."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from fraud_detection.domain.redaction import masked_url
from fraud_detection.entrypoints.cli.context import print_table
from fraud_detection.entrypoints.cli.errors import handles_user_errors


def variables() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) per setting, in declaration order."""
    from fraud_detection.settings import Settings
    from fraud_detection.settings.unknown import field_variables

    rows = []
    for name, field in Settings.model_fields.items():
        env = field_variables(name, field)[0]
        default = "" if field.default is None else str(field.default)
        rows.append((str(env), default, field.description or ""))
    return rows


def shown(value: Any) -> str:
    """A value as `fraud config` prints it: secrets stay masked (pydantic's SecretStr), and so do the
    passwords inside a URL (redis://:pw@host, ...?password=pw), which is a plain string setting. A value of
    several lines (a PEM bundle) is summed up on one, so each setting stays one row: the whole certificate
    filled the screen, and piped, its lines broke the tab-separated rows that `cut -f` reads."""
    if value is None:
        return ""
    text = str(value)
    if "\n" not in text.strip():
        return masked_url(text)
    if text.lstrip().startswith("-----BEGIN "):
        return f"PEM: {text.count('-----BEGIN ')} block(s), {len(text):,} characters"
    return f"{text.strip().splitlines()[0]} ... ({len(text.strip().splitlines())} lines)"


@handles_user_errors
def show(
    markdown: Annotated[bool, typer.Option(help="Print the README's Markdown table instead.")] = False,
) -> None:
    """Show the configuration reference (and the values in effect)."""
    from fraud_detection.settings import Settings

    current = Settings().model_dump()
    if markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for env, default, description in variables():
            print(f"| `{env}` | `{default}` | {description} |".replace("``", "(unset)"))
        return
    table = Table("variable", "value", "meaning")
    for (env, _, description), value in zip(variables(), current.values(), strict=True):
        table.add_row(env, shown(value), description)
    print_table(table)
