"""Expiry of captured predictions in a local store: partitions older than the retention are deleted.

(An S3 store expires them with a bucket lifecycle rule instead: deploy/terraform.) The first sweep lists the
whole prefix; later ones list only the `date=` folders that expired since the previous sweep, so a daily
sweep costs a listing of a day or two whatever the history's size. Once a week the whole prefix is listed
again: a folder that expired before the previous sweep but was written after it (rows a restarted replica
replays from its spill, a copy restored by hand) would otherwise stay until the process restarts.
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
FULL_LISTING_EVERY = timedelta(days=7)


class RetentionSweep:
    def __init__(self, store: ObjectStore, prefix: str, days: float, clock: Callable[[], float]) -> None:
        if days <= 0:
            raise ValueError("retention days must be positive (0 = keep forever: build no sweep)")
        self._store, self._prefix, self._keep, self._clock = store, prefix, timedelta(days=days), clock
        self._last_cutoff: datetime | None = None
        self._last_full: datetime | None = None  # cutoff of the last sweep that listed the whole prefix

    def run(self) -> int:
        """Delete files whose hour partition ended before now - retention; return how many."""
        cutoff = datetime.fromtimestamp(self._clock(), UTC) - self._keep
        last, full = self._last_cutoff, self._last_full
        # abs(): a clock stepped back a week lists everything once too.
        if last is None or full is None or abs(cutoff - full) >= FULL_LISTING_EVERY:
            keys = list(self._store.list_keys(f"{self._prefix}/"))
            self._last_full = cutoff
        else:
            since = last - timedelta(days=1)
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
