"""Ingest: read a raw source, enforce the schema, store it content-addressed."""

from __future__ import annotations

from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.domain.errors import EMPTY_SOURCE, DataSourceError
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.sources import TransactionSource
from fraud_detection.domain.schema import check_transactions


class IngestDataset:
    def __init__(self, source: TransactionSource, datasets: DatasetStore) -> None:
        self._source = source
        self._datasets = datasets

    def __call__(self, source: str) -> DatasetRef:
        """Nothing is stored unless every row passes the schema (InvalidDataError names the first bad one)."""
        if not source.strip():  # "" is the current folder as a path: "is a directory" would hide the cause
            raise DataSourceError(EMPTY_SOURCE)
        frame = check_transactions(self._source.read(source), source)
        return self._datasets.save(frame, self._source.located(source))
