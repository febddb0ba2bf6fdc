"""Compaction of captured predictions: each closed hour's files merged into one object.

Why: every replica closes a capture file at least once a minute (FRAUD_CAPTURE_MAX_SECONDS), so a week-long
rollout status or a retrain's 30 days read tens of thousands of small objects, minutes on S3
(benchmarks/capture_files.py). Merged, an hour is one object.

Safe for a reader at any moment: the merged file is written first (one atomic write) and tags each row with
the file it came from (capture_file.py), so a reader that meets both takes each file's rows once. The merged
files are deleted only `grace` after the merge, longer than any read takes, so a read that listed them just
before still finds them. A file that arrives late (a spill resent after an outage) is merged by a later run
into a new compacted file holding the older one's rows too; the older one goes after the grace period.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta

from fraud_detection.domain.compaction import CompactionSummary
from fraud_detection.domain.ports.prediction_log import CaptureCompaction
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log.capture_file import CaptureFile, encode_compacted
from fraud_detection.infrastructure.arrow.prediction_log.layout import (
    PARTITION_SPAN,
    compacted_at,
    compacted_key,
    date_prefixes,
    file_name,
    is_compacted,
    normalise_prefix,
    partition_start,
)
from fraud_detection.infrastructure.arrow.prediction_log.reader import parse_capture_file

logger = logging.getLogger(__name__)

# An hour is merged this long after it ends: a writer holds rows at most FRAUD_CAPTURE_MAX_SECONDS (60 s)
# before its file lands, so the hour's files are all there (a later one is merged by a later run).
SETTLE = timedelta(minutes=10)
# Merged files stay this long after the merge: far more than the longest read (a week's rollout status took
# ~2 min before compaction), and short enough that an hourly run deletes what the previous run merged.
GRACE = timedelta(minutes=30)


@dataclass
class _Tally:
    hours: int = 0
    files_merged: int = 0
    rows: int = 0
    files_deleted: int = 0


class CaptureCompactor(CaptureCompaction):
    """Run by one scheduled process at a time (the hourly drift Lambda, `fraud capture compact`): two at
    once stay correct for readers but may each write a merge."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str = "predictions",
        *,
        settle: timedelta = SETTLE,
        grace: timedelta = GRACE,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._prefix = store, normalise_prefix(prefix)
        self._settle, self._grace, self._clock, self._monotonic = settle, grace, clock, monotonic

    def compact(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
        if lookback_hours <= 0:
            raise ValueError(f"lookback_hours must be positive, got {lookback_hours}")
        started = self._monotonic()
        now = datetime.fromtimestamp(self._clock(), UTC)
        # The newest hour whose end is `settle` ago, back to the hour `lookback_hours` ago.
        newest = _hour_of(now - self._settle - PARTITION_SPAN)
        oldest = _hour_of(now - timedelta(hours=lookback_hours))
        hours = self._keys_by_hour(oldest, newest + PARTITION_SPAN)
        tally = _Tally()
        left = 0
        for position, hour in enumerate(sorted(hours, reverse=True)):
            if budget_seconds is not None and self._monotonic() - started >= budget_seconds:
                left = len(hours) - position
                logger.warning("capture compaction: time budget spent, %d hours left for the next run", left)
                break
            self._compact_hour(hour, hours[hour], now, tally)
        summary = CompactionSummary(tally.hours, tally.files_merged, tally.rows, tally.files_deleted, left)
        logger.info("capture compaction: %s", summary.to_dict())
        return summary

    def _keys_by_hour(self, oldest: datetime, end: datetime) -> dict[datetime, list[str]]:
        hours: dict[datetime, list[str]] = {}
        for folder in date_prefixes(self._prefix, oldest, end):
            for key in self._store.list_keys(folder):
                hour = partition_start(self._prefix, key)
                if hour is not None and oldest <= hour < end:
                    hours.setdefault(hour, []).append(key)
        return hours

    def _compact_hour(self, hour: datetime, keys: list[str], now: datetime, tally: _Tally) -> None:
        merged = sorted((key for key in keys if is_compacted(key)), reverse=True)  # newest merge first
        written = sorted(key for key in keys if not is_compacted(key))
        if len(merged) + len(written) < 2:
            return  # one file is already one file
        skipped: list[str] = []
        earlier = list(self._parsed(merged, skipped))
        covered: dict[str, datetime] = {}  # file name -> when the newest merge holding it was made
        for key, file in earlier:
            made = compacted_at(key) or now
            for name in file.sources:
                covered.setdefault(name, made)
        fresh = [key for key in written if file_name(key) not in covered]
        if fresh and len(fresh) + len(earlier) >= 2:
            taken: set[str] = set()
            parts = [file.unseen(taken) for _, file in earlier]
            added = [file.unseen(taken) for _, file in self._parsed(fresh, skipped)]
            if added:  # unreadable files are left as they are: readers skip them too
                data = encode_compacted([*parts, *added])
                self._store.write_bytes(compacted_key(self._prefix, hour, now), data)
                tally.hours += 1
                tally.files_merged += len(added) + len(earlier)
                tally.rows += sum(part.rows.num_rows for part in (*parts, *added))
        ripe = now - self._grace
        doomed = [key for key in written if covered.get(file_name(key), now) <= ripe]
        doomed += _superseded(earlier, ripe, now)
        self._store.delete_many(doomed)
        tally.files_deleted += len(doomed)

    def _parsed(self, keys: Iterable[str], skipped: list[str]) -> Iterable[tuple[str, CaptureFile]]:
        for key, data in self._store.read_many(keys):
            file = parse_capture_file(key, data, skipped)
            if file is not None:
                yield key, file


class CaptureCompactors(CaptureCompaction):
    """Several capture logs compacted in one run, in order, each with an equal share of the time budget
    left: the served rows (`predictions/`) and a rollout's dark scores (`shadow/`). The dark scores were
    never merged, so a rollout's evaluation and status read one object per replica per flush, ever more of
    them (seen on the stack's soak: ~550 shadow files an hour, at its 5-second flush, left as they were)."""

    def __init__(
        self, compactors: Iterable[CaptureCompaction], monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._compactors, self._monotonic = tuple(compactors), monotonic

    def compact(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
        started = self._monotonic()
        total = CompactionSummary(0, 0, 0, 0, 0)
        for position, compactor in enumerate(self._compactors):
            # An equal share of what is left: a backlog of served rows must not starve the dark scores.
            share = len(self._compactors) - position
            spent = self._monotonic() - started
            left = None if budget_seconds is None else max(0.0, budget_seconds - spent) / share
            summary = compactor.compact(lookback_hours, left)
            total = CompactionSummary(*(a + b for a, b in zip(astuple(total), astuple(summary), strict=True)))
        return total


def _superseded(earlier: list[tuple[str, CaptureFile]], ripe: datetime, now: datetime) -> list[str]:
    """Compacted files (newest first) whose every source a newer one made before `ripe` also holds."""
    doomed = []
    for position, (key, file) in enumerate(earlier):
        sources = set(file.sources)
        if any(
            (compacted_at(newer) or now) <= ripe and sources <= set(holder.sources)
            for newer, holder in earlier[:position]
        ):
            doomed.append(key)
    return doomed


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
