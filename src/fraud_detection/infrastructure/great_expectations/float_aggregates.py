"""Pandas `column.mean` and `column.standard_deviation` minus GE's per-value Decimal scan of float columns.

GE 1.24 looks for `decimal.Decimal` objects before every pandas mean/std by iterating the column in Python:
~80 ms per 285k-row column, ~4.6 s of the suite's 56 V-column statistics. Only object columns can hold
Decimals, so these providers keep GE's conversion for them and go straight to pandas otherwise. They subclass
GE's own metric providers (its custom-metric mechanism), so SQL and Spark providers and the metric
dependencies stay GE's.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.metrics.column_aggregate_metric_provider import column_aggregate_value
from great_expectations.expectations.metrics.column_aggregate_metrics.column_mean import ColumnMean
from great_expectations.expectations.metrics.column_aggregate_metrics.column_standard_deviation import (
    ColumnStandardDeviation,
)
from great_expectations.util import convert_pandas_series_decimal_to_float_dtype

_REGISTRY_LOGGER = "great_expectations.expectations.registry"
_registered = False


def _without_decimals(column: pd.Series) -> pd.Series:
    if column.dtype == object:
        convert_pandas_series_decimal_to_float_dtype(data=column, inplace=True)
    return column


def register_float_aggregates() -> None:
    """Replace GE's pandas providers once per process (GE's metric registry is process-wide)."""
    global _registered
    if _registered:
        return
    registry_log = logging.getLogger(_REGISTRY_LOGGER)
    previous_level = registry_log.level
    # GE warns that a provider is being overwritten: here that is the point, not news.
    registry_log.setLevel(logging.ERROR)
    try:
        # Defining the subclasses registers them (GE's MetricProvider metaclass).
        class FloatColumnMean(ColumnMean):
            @column_aggregate_value(engine=PandasExecutionEngine)
            def _pandas(cls, column: pd.Series, **kwargs: Any) -> Any:  # noqa: N805 (GE passes the class)
                return _without_decimals(column).mean()

        class FloatColumnStandardDeviation(ColumnStandardDeviation):
            @column_aggregate_value(engine=PandasExecutionEngine)
            def _pandas(cls, column: pd.Series, **kwargs: Any) -> Any:  # noqa: N805 (GE passes the class)
                return _without_decimals(column).std()

    finally:
        registry_log.setLevel(previous_level)
    _registered = True
