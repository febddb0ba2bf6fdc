"""A settings error as one line naming each environment variable, for every entry point (CLI, Lambda,
flows).

Takes pydantic's `ValidationError.errors()` list without importing pydantic: the CLI keeps it off the path
of `fraud --help`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def configuration_problems(
    errors: Iterable[Mapping[str, Any]], environ: Mapping[str, str] | None = None
) -> str:
    """`invalid configuration: FRAUD_TOP_K: Input should be greater than 0; FRAUD_...: ...`"""
    environ = os.environ if environ is None else environ
    problems = "; ".join(f"{variable(error.get('loc', ()), environ)}: {_message(error)}" for error in errors)
    return f"invalid configuration: {problems}"


def variable(location: Iterable[int | str], environ: Mapping[str, str]) -> str:
    """The environment variable behind a settings field (`top_k` -> `FRAUD_TOP_K`). A setting read under
    several names is named as the one set: pydantic names the first (`AWS_REGION=EU` was reported as
    FRAUD_AWS_REGION, which the user never set)."""
    parts = list(location)
    name = str(parts[0]) if parts else "settings"
    if not name.isupper():
        return f"FRAUD_{name.upper()}"
    from fraud_detection.settings import alias_groups  # here: pydantic is loaded once a setting failed

    names = alias_groups().get(name, (name,))
    return next((each for each in names if environ.get(each, "").strip()), name)


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    for prefix in PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return " ".join(message.split())  # one line, whatever the message
