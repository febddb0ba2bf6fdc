"""Cut a stream of record batches (whatever size the reader chose) into tables of exactly `rows` rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa


def fixed_size_tables(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Zero-copy slices; only the rows of one table (plus the rest of one batch) are held at a time. The
    last table may be shorter; no table is empty."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)
