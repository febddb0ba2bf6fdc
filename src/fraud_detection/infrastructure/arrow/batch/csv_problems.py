"""Name the cell or line a streamed CSV parse refused.

pyarrow says only "In CSV column #3: ... invalid value 'abc'". The header gives the column's name; a second
pass reading just that column as text finds the row at pyarrow's speed, so a bad cell deep in a 5 GB file
is located in seconds. Other errors (a line with too few fields) are numbered only by a single-threaded
parse, which is then the second pass. The sources' `locate_csv_problem` does not fit here: it walks the file
with the `csv` module and expects exactly the Kaggle header, while batch inputs may order columns freely
and carry a transaction_id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.infrastructure.arrow.batch.numeric_text import (
    first_failing,
    first_unparsable,
    not_a_number,
)

_ARROW_COLUMN = re.compile(r"In CSV column #(\d+): (.*)", re.DOTALL)
# pyarrow counts the header as row 1 and skips blank lines, and appends the row's text (not shown here).
_ARROW_FIELDS = re.compile(r"CSV parse error: Row #(\d+): Expected (\d+) columns, got (\d+)")
_SHOWN_BYTES = 40


def csv_problem(
    path: Path, compression: str | None, header: tuple[str, ...], source: str, error: Exception
) -> InvalidDataError:
    message = _one_line(error)
    match = _ARROW_COLUMN.match(message)
    if match and int(match.group(1)) < len(header):
        column = header[int(match.group(1))]
        located = _first_bad_cell(path, compression, column, source)
        return located or InvalidDataError(source, match.group(2), column=column)
    numbered = _sequential_parse_error(path, compression, header[0])
    fields = _ARROW_FIELDS.match(numbered or "")
    if fields:  # as every other error names a row: data rows from 1, blank lines skipped, no content shown
        line, expected, got = (int(group) for group in fields.groups())
        return InvalidDataError(source, f"{got} fields, expected {expected}", row=line - 2)
    return InvalidDataError(source, f"unreadable CSV ({numbered or message})")


def _first_bad_cell(path: Path, compression: str | None, column: str, source: str) -> InvalidDataError | None:
    """The column read as bytes: read as text, a byte that is not UTF-8 failed this pass too, and the error
    named no row."""
    options = pa_csv.ConvertOptions(
        column_types={column: pa.binary()}, include_columns=[column], strings_can_be_null=True
    )
    first_row = 0
    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            for batch in pa_csv.open_csv(stream, convert_options=options):
                raw = batch.column(0)
                bad = first_failing(raw, _utf8)
                if bad is not None:
                    shown = raw[bad].as_py()[:_SHOWN_BYTES]
                    problem = f"{shown!r} is not UTF-8 text (save the file as UTF-8)"
                    return InvalidDataError(source, problem, column=column, row=first_row + bad)
                values = raw.cast(pa.string())
                bad = first_unparsable(values)
                if bad is not None:
                    return not_a_number(source, column, values, bad, first_row)
                first_row += batch.num_rows
    except (pa.ArrowException, OSError, EOFError):
        return None  # broken in another way further on: keep pyarrow's own message
    return None


def _utf8(values: pa.Array) -> bool:
    """Whether every value is UTF-8 (a cast to text checks it)."""
    try:
        values.cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _sequential_parse_error(path: Path, compression: str | None, first_column: str) -> str | None:
    """pyarrow's message from a one-thread parse, which names the line ("Row #3001: Expected 31 columns,
    got 30"); only the first column is converted, but every line is still split into fields."""
    options = pa_csv.ConvertOptions(column_types={first_column: pa.string()}, include_columns=[first_column])
    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            for _ in pa_csv.open_csv(
                stream, read_options=pa_csv.ReadOptions(use_threads=False), convert_options=options
            ):
                pass
    except (pa.ArrowException, OSError, EOFError) as error:
        return _one_line(error)
    return None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
