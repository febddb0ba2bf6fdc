"""Ingest: read a raw source, enforce the schema, store it content-addressed."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.domain.errors import EMPTY_SOURCE, DataSourceError
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.sources import TransactionSource
from fraud_detection.domain.schema import TIME, check_transactions
from fraud_detection.domain.time_order import time_jumps

logger = logging.getLogger(__name__)


class IngestDataset:
    def __init__(self, source: TransactionSource, datasets: DatasetStore) -> None:
        self._source = source
        self._datasets = datasets

    def __call__(self, source: str, warn: Callable[[str], None] = logger.warning) -> DatasetRef:
        """Nothing is stored unless every row passes the schema (InvalidDataError names the first bad one).
        Time jumping back in an otherwise ordered file is stored, with a warning through `warn` (the CLI
        shows it; a log hidden by the flow's quiet logging would not): it may be the user's intent."""
        if not source.strip():  # "" is the current folder as a path: "is a directory" would hide the cause
            raise DataSourceError(EMPTY_SOURCE)
        frame = check_transactions(self._source.read(source), source)
        jumps = time_jumps(frame[TIME].to_numpy())
        if jumps is not None:
            warn(jumps.describe(source))
        return self._datasets.save(frame, self._source.located(source))
