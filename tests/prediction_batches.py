"""Scored batches for the prediction-log tests: every value fixed, so what is read back can be compared."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fraud_detection.domain.ports.prediction_log import PredictionBatch


def scored_batch(
    request_id: str, rows: int, scored_at: float, id_length: int = 0, model_ms: float = math.nan
) -> PredictionBatch:
    """`rows` rows of one request by v7 of "fraud-lgbm", ids `<request>/<row>` padded to `id_length`."""
    return PredictionBatch(
        inputs=np.ones((rows, 29)),
        times=np.arange(rows, dtype=np.float64),
        transaction_ids=tuple(f"{request_id}/{i}".ljust(id_length, "x") for i in range(rows)),
        probabilities=np.full(rows, 0.25),
        decisions=np.zeros(rows, dtype=np.bool_),
        model_name="fraud-lgbm",
        model_version=7,
        request_id=request_id,
        scored_at=scored_at,
        model_ms=model_ms,
    )


def spilled_files(spill: Path) -> list[Path]:
    """The spill files under `spill`. The writer prunes emptied hour folders while a test polls; a walk that
    meets one vanishing (rglob's FileNotFoundError, seen in full runs) walks again."""
    while True:
        try:
            return sorted((spill / "predictions").rglob("*.parquet"))
        except FileNotFoundError:
            continue
