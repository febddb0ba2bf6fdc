"""A chunk planned from row groups, read straight from the Parquet input: only its groups and only the
scoring columns (and the ids), converted exactly as the staged path converts them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.jobs import Chunk
from fraud_detection.domain.ports.jobs import ChunkRows
from fraud_detection.infrastructure.arrow.batch.input_batches import TRANSACTION_ID, as_text
from fraud_detection.infrastructure.arrow.batch.numeric_text import as_float64
from fraud_detection.infrastructure.arrow.batch.row_group_plan import footer_fingerprint


def read_row_groups(parquet: pq.ParquetFile, chunk: Chunk) -> ChunkRows:
    """Text cells that are not numbers are named by input row; a file whose groups no longer hold the
    planned rows (replaced while the job ran) is refused rather than scored as something else."""
    source = chunk.key
    if chunk.input_fingerprint and footer_fingerprint(parquet) != chunk.input_fingerprint:
        raise InvalidDataError(
            source, "the input changed while the job ran (its Parquet footer is not the one planned)"
        )
    with_ids = TRANSACTION_ID in parquet.schema_arrow.names
    names = [*SCORING_INPUTS, TRANSACTION_ID] if with_ids else list(SCORING_INPUTS)
    groups = list(chunk.row_groups)
    try:
        table = parquet.read_row_groups(groups, columns=names)
    except (pa.ArrowException, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        raise InvalidDataError(
            source, f"unreadable Parquet data in row groups {groups} ({message})"
        ) from error
    if table.num_rows != chunk.rows:
        raise InvalidDataError(
            source,
            f"row groups {groups} hold {table.num_rows} rows, {chunk.rows} when the job was planned"
            " (the input changed while the job ran)",
        )
    inputs = np.empty((table.num_rows, len(SCORING_INPUTS)), dtype=np.float64)
    for position, name in enumerate(SCORING_INPUTS):
        start = 0
        for piece in table.column(name).chunks:
            values = as_float64(piece, name, source, chunk.first_row + start)
            inputs[start : start + len(piece), position] = values.to_numpy(zero_copy_only=False)
            start += len(piece)
    ids = as_text(table.column(TRANSACTION_ID), source).to_numpy() if with_ids else None
    return ChunkRows(inputs, ids)
