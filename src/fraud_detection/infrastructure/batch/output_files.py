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
import pyarrow.parquet as pq

from fraud_detection.domain.errors import DataSourceError
from fraud_detection.infrastructure.batch.work_files import COMPRESSION


def concatenate(tables: Iterable[pa.Table], path: Path) -> int:
    """Write the tables in order into one Parquet file (a row group or more each); return the rows.
    Only one table is held at a time."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for table in tables:
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression=COMPRESSION)
            writer.write_table(_conform(table, writer.schema))
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("no parts to write")
    return rows


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
