"""Expiry of captured predictions in a local store: partitions older than the retention are deleted.

(An S3 store expires them with a bucket lifecycle rule instead: deploy/terraform.) The first sweep lists the
whole prefix once; later ones list only the `date=` folders that expired since the previous sweep, so a
daily sweep costs a listing of a day or two whatever the history's size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log.layout import (
    PARTITION_SPAN,
    date_prefixes,
    partition_start,
)

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 24 * 3600.0


class RetentionSweep:
    def __init__(self, store: ObjectStore, prefix: str, days: float, clock: Callable[[], float]) -> None:
        if days <= 0:
            raise ValueError("retention days must be positive (0 = keep forever: build no sweep)")
        self._store, self._prefix, self._keep, self._clock = store, prefix, timedelta(days=days), clock
        self._last_cutoff: datetime | None = None

    def run(self) -> int:
        """Delete files whose hour partition ended before now - retention; return how many."""
        cutoff = datetime.fromtimestamp(self._clock(), UTC) - self._keep
        if self._last_cutoff is None:
            keys = list(self._store.list_keys(f"{self._prefix}/"))
        else:
            since = self._last_cutoff - timedelta(days=1)
            keys = [
                key
                for folder in date_prefixes(self._prefix, since, cutoff + timedelta(days=1))
                for key in self._store.list_keys(folder)
            ]
        deleted = 0
        for key in keys:
            hour = partition_start(self._prefix, key)
            if hour is not None and hour + PARTITION_SPAN <= cutoff:
                self._store.delete(key)
                deleted += 1
        self._last_cutoff = cutoff
        if deleted:
            logger.info(
                "prediction log: deleted %d files scored before %s (retention)", deleted, f"{cutoff:%F %H:%M}"
            )
        return deleted
