"""Dataset storage adapters: content-addressed Parquet on any object store."""

from fraud_detection.infrastructure.datasets.parquet_store import ParquetDatasetStore

__all__ = ["ParquetDatasetStore"]
