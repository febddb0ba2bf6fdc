"""Column-wise concatenation of queued batches into one Arrow table, and its encoding as Parquet.

Runs on the writer thread only, so the request path never pays for numpy concatenation or Arrow arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.prediction_log.record_schema import (
    INPUT_NAMES,
    PREDICTION_SCHEMA,
    SCORED_AT_TYPE,
)

COMPRESSION = "zstd"
BUILD_ERRORS = (ValueError, TypeError, pa.ArrowException)
LAST_SCORED_AT = 253_402_300_800.0  # 10000-01-01T00:00:00Z: later times have no YYYY key


def batch_problem(batch: PredictionBatch) -> str | None:
    """What makes a batch unwritable (shapes that disagree, an unusable timestamp), or None."""
    try:
        rows = len(batch)
        shapes = {
            "inputs": np.shape(batch.inputs) == (rows, len(INPUT_NAMES)),
            "times": np.shape(batch.times) == (rows,),
            "transaction_ids": len(batch.transaction_ids) == rows,
            "decisions": np.shape(batch.decisions) == (rows,),
        }
        in_range = math.isfinite(batch.scored_at) and 0 <= batch.scored_at < LAST_SCORED_AT
    except (TypeError, ValueError, AttributeError) as error:
        return f"malformed batch ({error})"
    wrong = [name for name, ok in shapes.items() if not ok]
    if wrong:
        return f"{', '.join(wrong)} do not match {rows} probabilities"
    if not in_range:
        return f"scored_at {batch.scored_at!r} is not a Unix time in years 1970-9999"
    return None


def batches_to_table(batches: Sequence[PredictionBatch]) -> pa.Table:
    """One table in PREDICTION_SCHEMA order; raises one of BUILD_ERRORS for values of the wrong type."""
    counts = np.fromiter((len(b) for b in batches), dtype=np.int64, count=len(batches))
    inputs = np.concatenate([b.inputs for b in batches]).astype(np.float64, copy=False)
    per_batch = {
        "request_id": np.array([b.request_id for b in batches], dtype=object),
        "model_name": np.array([b.model_name for b in batches], dtype=object),
        "model_version": np.array([b.model_version for b in batches], dtype=np.int64),
        "scored_at": np.array([round(b.scored_at * 1_000_000) for b in batches], dtype=np.int64),
    }
    per_row = {name: np.repeat(values, counts) for name, values in per_batch.items()}
    arrays = [pa.array(inputs[:, i]) for i in range(len(INPUT_NAMES))]
    arrays += [
        pa.array(_concat(b.times for b in batches).astype(np.float64, copy=False)),
        pa.array(list(itertools.chain.from_iterable(b.transaction_ids for b in batches)), pa.string()),
        pa.array(per_row["request_id"], pa.string()),
        pa.array(_concat(b.probabilities for b in batches).astype(np.float64, copy=False)),
        pa.array(_concat(b.decisions for b in batches).astype(np.bool_, copy=False)),
        pa.array(per_row["model_name"], pa.string()),
        pa.array(per_row["model_version"], pa.int64()),
        pa.array(per_row["scored_at"], SCORED_AT_TYPE),
    ]
    return pa.Table.from_arrays(arrays, schema=PREDICTION_SCHEMA)


def encode_parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION)
    return bytes(sink.getvalue().to_pybytes())


def _concat(arrays: Iterable[np.ndarray]) -> np.ndarray:
    return np.concatenate(list(arrays))
