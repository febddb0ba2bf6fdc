"""Batch scoring files: inputs streamed into staged Parquet chunks, scored parts, one atomic output."""

from fraud_detection.infrastructure.arrow.batch.parquet_files import ParquetBatchFiles

__all__ = ["ParquetBatchFiles"]
