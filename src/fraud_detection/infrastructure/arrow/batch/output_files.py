"""Writing the job's output so that nobody ever sees half of it, and recognising it afterwards.

Where it goes and how it appears without replacing anything is `confined_files` (local) and
`s3_transfers` (S3); this module encodes the parts as one Parquet file that records the job that wrote it,
so a commit run again after a crash recognises its own output instead of failing on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraud_detection.domain.errors import DataSourceError
from fraud_detection.infrastructure.arrow.batch.work_files import COMPRESSION

# A column is dictionary-encoded when a sample of it has at most one distinct value per this many rows.
DICTIONARY_SAMPLE_ROWS = 10_000
ROWS_PER_DISTINCT_VALUE = 100
JOB_KEY = b"fraud.job_id"


def concatenate(tables: Iterable[pa.Table], path: Path, job_id: str) -> int:
    """Write the tables in order into one zstd Parquet file (a row group or more each); return the rows.
    Only one table is held at a time. Encodings are chosen from the first table (see `encodings`). The
    file's metadata records `job_id` (see `written_by`)."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for table in tables:
            if writer is None:
                dictionary, column_encoding = encodings(table)
                writer = pq.ParquetWriter(
                    path,
                    table.schema.with_metadata({JOB_KEY: job_id.encode()}),
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


def written_by(path: Path) -> tuple[str, int] | None:
    """The job id recorded in a Parquet output and its rows; None when it is not one (or unreadable)."""
    try:
        metadata = pq.read_metadata(path)
    except (pa.ArrowException, OSError):
        return None
    job = (metadata.metadata or {}).get(JOB_KEY)
    return (job.decode(errors="replace"), metadata.num_rows) if job is not None else None


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.equals(schema):
        return table
    try:
        return table.cast(schema)
    except (pa.ArrowException, ValueError) as error:
        raise DataSourceError(
            f"the parts disagree on columns: {table.schema.names} after {schema.names} ({error})"
        ) from error
