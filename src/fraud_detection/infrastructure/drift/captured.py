"""Captured predictions for drift checks, read from the prediction log's Parquet files."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.ports.drift import CapturedPredictions, CapturedRows
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.schema import TIME
from fraud_detection.infrastructure.prediction_log.reader import (
    read_latest_predictions,
    read_predictions,
)
from fraud_detection.infrastructure.prediction_log.record_schema import (
    DECISION,
    MODEL_NAME,
    MODEL_VERSION,
    PROBABILITY,
    SCORED_AT,
    TRANSACTION_ID,
)


class PredictionLogWindow(CapturedPredictions):
    def __init__(self, store: ObjectStore, prefix: str = "predictions") -> None:
        self._store, self._prefix = store, prefix

    def read(self, since: datetime | None, until: datetime | None, last_rows: int | None) -> CapturedRows:
        if last_rows is None:
            logged = read_predictions(self._store, self._prefix, since, until)
        else:
            logged = read_latest_predictions(self._store, last_rows, self._prefix, since, until)
        frame = logged.frame
        return CapturedRows(
            inputs=frame[list(SCORING_INPUTS)].to_numpy(dtype=np.float64),
            probabilities=frame[PROBABILITY].to_numpy(dtype=np.float64),
            decisions=frame[DECISION].to_numpy(dtype=bool),
            model_names=frame[MODEL_NAME].to_numpy(dtype=str),
            model_versions=frame[MODEL_VERSION].to_numpy(dtype=np.int64),
            scored_at=frame[SCORED_AT].dt.tz_convert(None).to_numpy(dtype="datetime64[us]"),
            skipped_files=logged.skipped,
            transaction_ids=frame[TRANSACTION_ID].to_numpy(dtype=object),
            times=frame[TIME].to_numpy(dtype=np.float64),
        )
