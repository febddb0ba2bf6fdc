"""Where raw transactions come from: files on disk, S3 objects, Kaggle downloads."""

from fraud_detection.infrastructure.arrow.sources.file_source import (
    FileTransactionSource,
    read_transaction_file,
)

__all__ = ["FileTransactionSource", "read_transaction_file"]
