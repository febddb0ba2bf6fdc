"""Find the first row pyarrow refused, with the `csv` module: slow, but it knows rows and lines.

Runs only after a fast parse failed, so a bad file costs a second read and a good one nothing. Rows are
counted as the reader counts them (blank lines skipped), so "row 17" means the same as in the frame checks.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import pyarrow.csv as pa_csv

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.schema import TRANSACTION_COLUMNS
from fraud_detection.infrastructure.arrow.sources.formats import FileFormat, open_csv_text

_SHOWN_CHARS = 40
# Tokens pyarrow reads as null; they are "missing values", which the schema check reports by row later.
_NULL_TOKENS = frozenset(pa_csv.ConvertOptions().null_values)


def locate_csv_problem(path: Path, source: str, file_format: FileFormat) -> InvalidDataError | None:
    row, header_read = 0, False
    try:
        with open_csv_text(path, file_format, errors="replace") as text:
            reader = csv.reader(text)
            next(reader, None)
            header_read = True
            for fields in reader:
                if not fields:
                    continue
                problem = _problem_in(fields)
                if problem:
                    column, message = problem
                    return InvalidDataError(source, f"{message} (line {reader.line_num})", column, row)
                row += 1
    except (OSError, EOFError, zlib.error, csv.Error) as error:
        # the row being read when it failed: a 2 MB field in data row 1 read "before the first data row"
        where = f"from data row {row + 1}" if header_read else "in the header"
        return InvalidDataError(source, f"unreadable {where} ({' '.join(str(error).split())})")
    return None


def _problem_in(fields: list[str]) -> tuple[str | None, str] | None:
    if len(fields) != len(TRANSACTION_COLUMNS):
        return None, f"{len(fields)} fields, expected {len(TRANSACTION_COLUMNS)}"
    for column, token in zip(TRANSACTION_COLUMNS, fields, strict=True):
        if not _is_number(token):
            shown = token if len(token) <= _SHOWN_CHARS else token[:_SHOWN_CHARS] + "..."
            return column, f"{shown!r} is not a number"
    return None


def _is_number(token: str) -> bool:
    if token in _NULL_TOKENS:
        return True
    text = token.strip()
    if "_" in text or not text.isascii():  # Python's float() accepts "1_000" and "١٢"; pyarrow does not
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True
