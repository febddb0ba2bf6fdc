"""The columns of a prediction-log file, in order: one definition shared by the writer and the reader.

Files written before `model_ms` existed (LEGACY_SCHEMA) are still read: `conformed` adds the column as NaN
(not measured), so an upgrade never makes drift checks or rollout evidence skip the hours already captured.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fraud_detection.domain.schema import AMOUNT, TIME, V_COLUMNS

INPUT_NAMES: tuple[str, ...] = (*V_COLUMNS, AMOUNT)  # the order of PredictionBatch.inputs
TRANSACTION_ID = "transaction_id"
REQUEST_ID = "request_id"
PROBABILITY = "probability"
DECISION = "decision"
MODEL_NAME = "model_name"
MODEL_VERSION = "model_version"
SCORED_AT = "scored_at"
SCORED_AT_TYPE = pa.timestamp("us", tz="UTC")
# The model call's time in milliseconds for a row scored alone (the online case); NaN for a row scored in a
# call of several (see model_scoring.model_ms) or not timed. The rollout compares the two models' p99 of it.
MODEL_MS = "model_ms"

PREDICTION_SCHEMA = pa.schema(
    [
        *(pa.field(name, pa.float64()) for name in INPUT_NAMES),
        pa.field(TIME, pa.float64()),
        pa.field(TRANSACTION_ID, pa.string()),
        pa.field(REQUEST_ID, pa.string()),
        pa.field(PROBABILITY, pa.float64()),
        pa.field(DECISION, pa.bool_()),
        pa.field(MODEL_NAME, pa.string()),
        pa.field(MODEL_VERSION, pa.int64()),
        pa.field(SCORED_AT, SCORED_AT_TYPE),
        pa.field(MODEL_MS, pa.float64()),
    ]
)
LEGACY_SCHEMA = PREDICTION_SCHEMA.remove(PREDICTION_SCHEMA.get_field_index(MODEL_MS))


def readable_schema(schema: pa.Schema) -> bool:
    """Whether a file of `schema` is a prediction-log file this version reads (its own or the legacy one)."""
    return any(schema.equals(known, check_metadata=False) for known in (PREDICTION_SCHEMA, LEGACY_SCHEMA))


def conformed(table: pa.Table) -> pa.Table | None:
    """`table` in PREDICTION_SCHEMA: as is, or a legacy file's rows with `model_ms` NaN; None for another
    schema."""
    if table.schema.equals(PREDICTION_SCHEMA, check_metadata=False):
        return table
    if not table.schema.equals(LEGACY_SCHEMA, check_metadata=False):
        return None
    unmeasured = pa.array(np.full(table.num_rows, np.nan))
    return pa.Table.from_arrays([*table.columns, unmeasured], schema=PREDICTION_SCHEMA)
