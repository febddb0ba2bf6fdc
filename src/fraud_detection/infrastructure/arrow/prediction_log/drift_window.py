"""Captured predictions for drift checks, read from the prediction log's Parquet files."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import numpy as np

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.ports.drift import CapturedPredictions, CapturedRows
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.schema import TIME
from fraud_detection.infrastructure.arrow.prediction_log.reader import (
    LoggedPredictions,
    read_latest_predictions,
    read_predictions,
)
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (
    DECISION,
    MODEL_MS,
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
        return _captured(logged)

    def read_ids(self, since: datetime | None, ids: Collection[str]) -> CapturedRows:
        """Filtered file by file (see read_predictions)."""
        return _captured(read_predictions(self._store, self._prefix, since, None, ids))

    def read_scores(self, since: datetime | None, until: datetime | None) -> CapturedRows:
        """The input columns are dropped file by file: a fifth of a row's memory is kept."""
        logged = read_predictions(self._store, self._prefix, since, until, columns=SCORE_COLUMNS)
        return _captured(logged, inputs=False)


# What rollout evidence reads of a captured row: no inputs, no `Time`, no request id.
SCORE_COLUMNS = (TRANSACTION_ID, PROBABILITY, DECISION, MODEL_NAME, MODEL_VERSION, SCORED_AT, MODEL_MS)


def _captured(logged: LoggedPredictions, inputs: bool = True) -> CapturedRows:
    """The window as NumPy columns (CapturedRows); without `inputs`, an (n, 0) array and no `times`."""
    column = logged.column  # Arrow columns as NumPy: no pandas on the drift check's path
    # Column-major: each input is copied in one contiguous run and read back as one (the check works
    # column by column); row-major doubled the read of a 100k-row window.
    values = np.empty((logged.table.num_rows, len(SCORING_INPUTS) if inputs else 0), order="F")
    for position, name in enumerate(SCORING_INPUTS if inputs else ()):
        values[:, position] = column(name)
    return CapturedRows(
        inputs=values,
        probabilities=column(PROBABILITY).astype(np.float64, copy=False),
        decisions=column(DECISION).astype(bool, copy=False),
        model_names=column(MODEL_NAME).astype(str),
        model_versions=column(MODEL_VERSION).astype(np.int64, copy=False),
        scored_at=column(SCORED_AT).astype("datetime64[us]"),
        skipped_files=logged.skipped,
        transaction_ids=column(TRANSACTION_ID).astype(object, copy=False),
        times=column(TIME).astype(np.float64, copy=False) if inputs else None,
        model_ms=column(MODEL_MS).astype(np.float64, copy=False),
    )
