"""A cheap look at a batch input: the format from its first bytes, the columns from the CSV header or the
Parquet footer. Data rows are never read, so describing a large file (or S3 object) costs a few KB."""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.errors import DataSourceError, InvalidDataError
from fraud_detection.domain.ports.jobs import InputDescription
from fraud_detection.infrastructure.arrow.sources.formats import FileFormat

# The Kaggle header is ~300 bytes; a first line longer than this is not a header.
HEAD_BYTES = 64 * 1024
_MAGIC: tuple[tuple[bytes, FileFormat], ...] = (
    (b"\x1f\x8b", FileFormat.GZIP_CSV),
    (b"PAR1", FileFormat.PARQUET),
    (b"PK\x03\x04", FileFormat.ZIP),
)
NOT_PARQUET = "not a Parquet file: it does not begin with Parquet's magic bytes PAR1 (corrupt or misnamed)"
FORMAT_NAMES = {FileFormat.CSV: "csv", FileFormat.GZIP_CSV: "csv.gz", FileFormat.PARQUET: "parquet"}


def describe_local_file(path: Path, source: str) -> InputDescription:
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
            whole = not stream.read(1)
    except FileNotFoundError as error:
        raise DataSourceError(f"{source}: file not found") from error
    except IsADirectoryError as error:
        raise DataSourceError(f"{source}: is a directory, expected a CSV or Parquet file") from error
    except OSError as error:
        raise DataSourceError(f"{source}: cannot open ({error.strerror or error})") from error
    return describe_head(head, whole, source, lambda: pq.ParquetFile(path))


def describe_head(
    head: bytes, whole: bool, source: str, open_parquet: Callable[[], pq.ParquetFile]
) -> InputDescription:
    """`head` is the first HEAD_BYTES of the input (`whole` when that is all of it); `open_parquet` reads
    the footer when the magic says Parquet."""
    if not head:
        raise InvalidDataError(source, "empty file (0 bytes)")
    file_format = next((kind for magic, kind in _MAGIC if head.startswith(magic)), FileFormat.CSV)
    if file_format is FileFormat.ZIP:
        raise DataSourceError(f"{source}: a zip archive is not a supported format; extract the CSV first")
    if file_format is FileFormat.CSV and _named_parquet(source):  # read as CSV: "missing columns V1..."
        raise InvalidDataError(source, NOT_PARQUET)
    if file_format is FileFormat.PARQUET:
        try:
            return parquet_description(open_parquet())
        except (pa.ArrowException, OSError) as error:
            raise InvalidDataError(source, f"not a readable Parquet file ({_one_line(error)})") from error
    columns = csv_header(head, file_format is FileFormat.GZIP_CSV, whole, source)
    return InputDescription(FORMAT_NAMES[file_format], columns, None)


def _named_parquet(source: str) -> bool:
    return source.split("?", 1)[0].lower().endswith(".parquet")


def parquet_description(parquet: pq.ParquetFile) -> InputDescription:
    schema = parquet.schema_arrow
    # pandas' `to_parquet` may store the frame's index as a column; it is not data.
    stored_index = {n for n in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(n, str)}
    columns = tuple(name for name in schema.names if name not in stored_index)
    return InputDescription("parquet", columns, parquet.metadata.num_rows)


def csv_header(head: bytes, gzipped: bool, whole: bool, source: str) -> tuple[str, ...]:
    text, ended = head, whole
    if gzipped:
        decompressor = zlib.decompressobj(wbits=31)
        try:
            text = decompressor.decompress(head, HEAD_BYTES)
        except zlib.error as error:
            raise InvalidDataError(
                source, f"cannot read a CSV header (corrupt gzip data: {error})"
            ) from error
        ended = decompressor.eof
    line, newline, _ = text.partition(b"\n")
    if not newline and not ended:
        raise InvalidDataError(
            source, f"cannot read a CSV header (no line break in the first {HEAD_BYTES} bytes)"
        )
    try:
        decoded = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as error:
        raise InvalidDataError(
            source, f"cannot read a CSV header (not UTF-8 text: {error.reason})"
        ) from error
    try:
        names = next(csv.reader([decoded]), [])
    except csv.Error as error:
        raise InvalidDataError(source, f"cannot read a CSV header ({error})") from error
    if not any(name.strip() for name in names):
        raise InvalidDataError(source, "no header row (the first line is empty)")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InvalidDataError(source, f"duplicated columns {duplicated}", column=duplicated[0])
    return tuple(names)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
