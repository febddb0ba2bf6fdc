"""The columns of a prediction-log file, in order: one definition shared by the writer and the reader."""

from __future__ import annotations

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
    ]
)
