"""Kaggle-schema Parquet files (for example an export of the dataset store, or a converted Kaggle CSV)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.schema import TRANSACTION_COLUMNS, check_columns, numeric_frame
from fraud_detection.infrastructure.arrow.frames import FRAME_FROM_ARROW, PRE_BUFFER


def read_parquet_transactions(path: Path, source: str) -> pd.DataFrame:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise InvalidDataError(source, f"not a readable Parquet file ({_one_line(error)})") from error
    check_columns(_data_columns(schema), source)
    try:
        table = pq.read_table(path, columns=list(TRANSACTION_COLUMNS), pre_buffer=PRE_BUFFER)
        frame = table.to_pandas(ignore_metadata=True, **FRAME_FROM_ARROW)
        del table  # its buffers were handed over column by column (FRAME_FROM_ARROW)
    except (pa.ArrowException, OSError) as error:
        raise InvalidDataError(source, f"unreadable Parquet data ({_one_line(error)})") from error
    return numeric_frame(frame, source)


def _data_columns(schema: pa.Schema) -> list[str]:
    """Column names without the index columns pandas' `to_parquet` may add (`__index_level_0__`)."""
    index_columns = (schema.pandas_metadata or {}).get("index_columns", [])
    stored_index = {name for name in index_columns if isinstance(name, str)}
    return [name for name in schema.names if name not in stored_index]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
