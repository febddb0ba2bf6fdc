"""Where raw transactions come from: a local file, an s3:// object, Kaggle."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd


class TransactionSource(ABC):
    @abstractmethod
    def read(self, source: str) -> pd.DataFrame:
        """Read a CSV (plain or gzip) or Parquet file in the Kaggle schema into float64 columns. Raises
        `DataSourceError` when it cannot be opened and `InvalidDataError` (naming column and row) when it
        cannot be parsed (header, a cell that is not a number). Value rules (NaN, negative Amount, Class)
        are the caller's: `domain.schema.check_transactions`."""

    def located(self, source: str) -> str:
        """Where a dataset records it came from: `source` as given, unless the adapter can say it better
        (a relative path means nothing once read from another folder)."""
        return source
