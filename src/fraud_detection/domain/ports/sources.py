"""Where raw transactions come from: a local file, an s3:// object, Kaggle."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd


class TransactionSource(ABC):
    @abstractmethod
    def read(self, source: str) -> pd.DataFrame:
        """Read a CSV (plain or gzip) or Parquet file in the Kaggle schema. Raises `DataSourceError` when it
        cannot be opened and `InvalidDataError` (naming column and row) when its content breaks the schema."""
