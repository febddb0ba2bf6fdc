"""Kaggle-schema CSV (plain or gzip) parsed by pyarrow: multithreaded, streamed from disk, float64 throughout.

The header is checked first with the domain's rule, so a wrong file fails on its columns before any value
is parsed. pyarrow then reads the rows with explicit float64 types, which accepts the real file's quirks
(`0` and `0.0`, the original's quoted `"0"` class values, CRLF). Its errors name neither row nor column
name, so on failure a slower pure-Python pass finds the first bad row for the message.
"""

from __future__ import annotations

import csv
import re
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.schema import TRANSACTION_COLUMNS, check_columns
from fraud_detection.infrastructure.arrow.frames import FRAME_FROM_ARROW
from fraud_detection.infrastructure.arrow.sources.csv_diagnosis import locate_csv_problem
from fraud_detection.infrastructure.arrow.sources.formats import FileFormat, open_csv_bytes

# A header longer than this is not the Kaggle header (and keeps a binary file from being read whole).
_MAX_HEADER_BYTES = 64 * 1024
_ARROW_COLUMN = re.compile(r"In CSV column #(\d+): (.*)", re.DOTALL)
_DECODE_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)


def read_csv_transactions(path: Path, source: str, file_format: FileFormat) -> pd.DataFrame:
    check_columns(_read_header(path, source, file_format), source)
    columns = list(TRANSACTION_COLUMNS)
    compression = "gzip" if file_format is FileFormat.GZIP_CSV else None
    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            table = pa_csv.read_csv(
                stream,
                read_options=pa_csv.ReadOptions(skip_rows=1, column_names=columns),
                convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.float64())),
            )
    except (pa.ArrowException, *_DECODE_ERRORS) as error:
        located = locate_csv_problem(path, source, file_format)
        raise (located or _from_arrow_message(error, source)) from error
    frame: pd.DataFrame = table.to_pandas(**FRAME_FROM_ARROW)
    return frame


def _read_header(path: Path, source: str, file_format: FileFormat) -> list[str]:
    # Bytes first: decoding only the first line, so a bad byte further down is reported by row later.
    try:
        with open_csv_bytes(path, file_format) as stream:
            line = stream.readline(_MAX_HEADER_BYTES).decode("utf-8-sig")
        header = next(csv.reader([line]), [])
    except _DECODE_ERRORS as error:
        raise InvalidDataError(source, f"cannot read a CSV header ({_one_line(error)})") from error
    if not any(name.strip() for name in header):
        raise InvalidDataError(source, "no header row (the first line is empty)")
    return header


def _from_arrow_message(error: Exception, source: str) -> InvalidDataError:
    """Used only when the Python pass found nothing to blame: keep what pyarrow knows."""
    message = _one_line(error)
    match = _ARROW_COLUMN.match(message)
    if match and int(match.group(1)) < len(TRANSACTION_COLUMNS):
        return InvalidDataError(source, match.group(2), column=TRANSACTION_COLUMNS[int(match.group(1))])
    return InvalidDataError(source, f"unreadable CSV ({message})")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
