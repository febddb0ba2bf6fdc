"""Parsers for the CLI's bounded number options: NaN and infinities are named as such.

typer's own `min`/`max` compare NaN as out of range and answer with the wrong bound: `--fraud-rate nan`
read "Input should be less than or equal to 1", `--budget nan` "greater than or equal to 1".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import typer


def number_in(low: float, high: float = math.inf) -> Callable[[str], float]:
    """A typer `parser`: the option's text as a float in [low, high], or a usage error (exit 2) saying
    which rule it breaks."""
    span = f"from {_shown(low)} to {_shown(high)}" if math.isfinite(high) else f"of at least {_shown(low)}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"'{text}' is not a number") from None
        if not math.isfinite(value):
            raise typer.BadParameter(f"must be a finite number {span}, got {text}")
        if not low <= value <= high:
            raise typer.BadParameter(f"must be a number {span}, got {text}")
        return value

    return parse


def _shown(bound: float) -> str:
    """1000000.0 -> "1,000,000"; 0.5 -> "0.5"."""
    return f"{bound:,.0f}" if bound == int(bound) else f"{bound:g}"
