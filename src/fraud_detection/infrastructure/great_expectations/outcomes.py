"""GE validation results as domain `ExpectationOutcome`s, in plain JSON-ready values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from great_expectations.core import ExpectationValidationResult
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from fraud_detection.domain.validation import ExpectationOutcome

# Kwargs that locate an expectation rather than state what it expects.
_NOT_EXPECTED = frozenset({"column", "batch_id"})


def outcome_from_result(result: ExpectationValidationResult) -> ExpectationOutcome:
    config = result.expectation_config
    if config is None:  # GE always sets it for suite runs; without it there is nothing to name
        raise ValueError("GE returned a validation result without its expectation configuration")
    error = _error_message(result.exception_info or {})
    if error is not None:
        return failed_outcome(config, error)
    return ExpectationOutcome(
        expectation=config.type,
        column=_column(config),
        success=bool(result.success),
        expected=_expected(config),
        observed=_observed(result.result or {}),
    )


def failed_outcome(config: ExpectationConfiguration, error: str) -> ExpectationOutcome:
    """An expectation GE could not evaluate (missing column, wrong dtype, a GE error) fails, naming why."""
    return ExpectationOutcome(
        expectation=config.type,
        column=_column(config),
        success=False,
        expected=_expected(config),
        observed=f"error: {error}",
    )


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays to Python, NaN to None, infinities to "inf"/"-inf"."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _column(config: ExpectationConfiguration) -> str | None:
    column = config.kwargs.get("column")
    return None if column is None else str(column)


def _expected(config: ExpectationConfiguration) -> dict[str, Any]:
    return {key: plain(value) for key, value in config.kwargs.items() if key not in _NOT_EXPECTED}


def _observed(result: Mapping[str, Any]) -> Any:
    if "observed_value" in result:
        return plain(result["observed_value"])
    if "unexpected_count" in result:  # row-wise expectations: how many rows broke it, and a few of them
        return plain(
            {
                "unexpected_count": result["unexpected_count"],
                "unexpected_percent": result.get("unexpected_percent"),
                "unexpected_sample": result.get("partial_unexpected_list", []),
            }
        )
    return plain(result) or None


def _error_message(exception_info: Mapping[str, Any]) -> str | None:
    """GE reports an exception either flat, or keyed by each metric that raised it."""
    if "raised_exception" in exception_info:
        infos: list[Mapping[str, Any]] = [exception_info]
    else:
        infos = [info for info in exception_info.values() if isinstance(info, Mapping)]
    messages = [
        str(info.get("exception_message")).removeprefix("Error: ")  # GE's prefix; the outcome says "error:"
        for info in infos
        if info.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) if messages else None
