"""Writing the job's output so that nobody ever sees half of it.

Local: the file is built beside its destination under a hidden temporary name, then renamed over it
(`os.replace` is atomic on POSIX). S3: it is built in scratch space and sent with one `upload_file`,
whose multipart upload only becomes visible when it completes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraud_detection.domain.errors import DataSourceError
from fraud_detection.infrastructure.batch.work_files import COMPRESSION

# A column is dictionary-encoded when a sample of it has at most one distinct value per this many rows.
DICTIONARY_SAMPLE_ROWS = 10_000
ROWS_PER_DISTINCT_VALUE = 100


def concatenate(tables: Iterable[pa.Table], path: Path) -> int:
    """Write the tables in order into one zstd Parquet file (a row group or more each); return the rows.
    Only one table is held at a time. Encodings are chosen from the first table (see `encodings`)."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for table in tables:
            if writer is None:
                dictionary, column_encoding = encodings(table)
                writer = pq.ParquetWriter(
                    path,
                    table.schema,
                    compression=COMPRESSION,
                    use_dictionary=dictionary,
                    column_encoding=column_encoding,
                )
            writer.write_table(_conform(table, writer.schema))
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("no parts to write")
    return rows


def encodings(table: pa.Table) -> tuple[list[str], dict[str, str]]:
    """Dictionary pages only for columns of few distinct values (a decision, a model version): trying them
    on columns of distinct values (ids, probabilities) first costs time for nothing. Other integer
    columns (row numbers) are delta-encoded. On 1M scored rows: 0.10 s and 7.7 MiB against 0.18 s and
    11 MiB with pyarrow's defaults."""
    sample = table.slice(0, DICTIONARY_SAMPLE_ROWS)
    dictionary = [
        name
        for name, column in zip(table.column_names, sample.columns, strict=True)
        if pc.count_distinct(column).as_py() * ROWS_PER_DISTINCT_VALUE <= max(sample.num_rows, 1)
    ]
    delta = {
        name: "DELTA_BINARY_PACKED"
        for name in table.column_names
        if name not in dictionary and pa.types.is_integer(table.schema.field(name).type)
    }
    return dictionary, delta


@contextmanager
def replacing(target: Path, uri: str) -> Iterator[Path]:
    """A temporary path beside `target`; on a clean exit it replaces `target`, on an error it is removed."""
    if target.is_dir():
        raise DataSourceError(f"{uri}: is a directory, expected a file path for the output")
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield temp
        _fsync(temp, os.O_RDONLY)
        os.replace(temp, target)
        _fsync(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except BaseException as error:
        with suppress(OSError):
            temp.unlink()
        if isinstance(error, OSError):
            raise DataSourceError(f"cannot write {uri}: {error.strerror or error}") from error
        raise


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.equals(schema):
        return table
    try:
        return table.cast(schema)
    except (pa.ArrowException, ValueError) as error:
        raise DataSourceError(
            f"the parts disagree on columns: {table.schema.names} after {schema.names} ({error})"
        ) from error


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
