"""Bounded number options name NaN and infinities as such, and say the range (exit 2, the option named):
typer's own bounds read `--fraud-rate nan` as "Input should be less than or equal to 1"."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fraud_detection.entrypoints.cli.app import app

FINITE = "must be a finite number"


@pytest.mark.parametrize(
    ("command", "problem"),
    [(["data", "generate", "--fraud-rate", "nan"], f"'--fraud-rate': {FINITE} from 0 to 1, got nan"),
     (["data", "generate", "--fraud-rate", "1.5"], "'--fraud-rate': must be a number from 0 to 1, got 1.5"),
     (["capture", "compact", "--hours", "nan"], f"'--hours': {FINITE} from 1 to 8,784, got nan"),
     (["capture", "compact", "--budget", "-inf"], f"'--budget': {FINITE} of at least 1, got -inf"),
     (["capture", "compact", "--budget", "soon"], "'--budget': 'soon' is not a number"),
     (["data", "prune", "--min-age-hours", "NaN"],
      f"'--min-age-hours': {FINITE} from 0 to 1,000,000, got NaN"),
     (["batch", "sweep", "--seconds", "inf"], f"'--seconds': {FINITE} from 1 to 604,800, got inf")],
)  # fmt: skip
def test_a_bad_number_is_refused_naming_the_option_and_the_rule(command: list[str], problem: str) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {problem}" in " ".join(result.stderr.split())
