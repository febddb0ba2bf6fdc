"""A settings error as one line naming each environment variable, for every entry point (CLI, Lambda).

Takes pydantic's `ValidationError.errors()` list without importing pydantic: the CLI keeps it off the path
of `fraud --help`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def configuration_problems(errors: Iterable[Mapping[str, Any]]) -> str:
    """`invalid configuration: FRAUD_TOP_K: Input should be greater than 0; FRAUD_...: ...`"""
    problems = "; ".join(f"{variable(error.get('loc', ()))}: {_message(error)}" for error in errors)
    return f"invalid configuration: {problems}"


def variable(location: Iterable[int | str]) -> str:
    """The environment variable behind a settings field (`top_k` -> `FRAUD_TOP_K`; an alias such as
    `MLFLOW_TRACKING_URI` is already the variable)."""
    parts = list(location)
    name = str(parts[0]) if parts else "settings"
    return name if name.isupper() else f"FRAUD_{name.upper()}"


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    for prefix in PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return " ".join(message.split())  # one line, whatever the message
