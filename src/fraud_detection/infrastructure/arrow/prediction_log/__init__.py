"""Prediction capture: micro-batched Parquet files in an object store, and their reader."""

from fraud_detection.infrastructure.arrow.prediction_log.parquet_log import ParquetPredictionLog
from fraud_detection.infrastructure.arrow.prediction_log.reader import LoggedPredictions, read_predictions

__all__ = ["LoggedPredictions", "ParquetPredictionLog", "read_predictions"]
