"""Read captured predictions back for drift checks and feedback joins, pruning by the date=/hour= keys.

A bad file (not Parquet, another schema) is skipped and named rather than failing the whole read, so one
stray object cannot stop drift monitoring; storage errors still raise, since skipping would hide rows.
An hour compacted into one file (compaction.py) may still hold the files it merged, or an older merge: each
written file's rows are taken once (capture_file.Coverage).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log.capture_file import (
    CaptureFile,
    Coverage,
    capture_file,
)
from fraud_detection.infrastructure.arrow.prediction_log.layout import (
    PARTITION_SPAN,
    date_prefixes,
    is_compacted,
    normalise_prefix,
    partition_start,
)
from fraud_detection.infrastructure.arrow.prediction_log.numpy_view import arrow_to_numpy
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (
    PREDICTION_SCHEMA,
    SCORED_AT,
    TRANSACTION_ID,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

MAX_DAYS_LISTED_ONE_BY_ONE = 366


@dataclass(frozen=True)
class LoggedPredictions:
    table: pa.Table  # PREDICTION_SCHEMA columns, in scored_at order
    skipped: tuple[str, ...]  # keys under the prefix that could not be used

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The rows as pandas, made on first use: the drift check reads the Arrow columns directly (no
        conversion of the whole table, no pandas sort)."""
        frame: pd.DataFrame = self.table.to_pandas()
        return frame

    def column(self, name: str) -> np.ndarray:
        return arrow_to_numpy(self.table.column(name).combine_chunks())


def read_predictions(
    store: ObjectStore,
    prefix: str = "predictions",
    since: datetime | None = None,
    until: datetime | None = None,
    ids: Collection[str] | None = None,
    columns: Sequence[str] | None = None,
) -> LoggedPredictions:
    """Rows scored in [since, until) (naive datetimes are taken as UTC). Memory follows what is kept, file
    by file: with `ids`, only the rows whose transaction id is one of them (a retrain's 30 days of traffic
    hold few labelled ones); with `columns`, only those columns (`scored_at` among them)."""
    skipped: list[str] = []
    tables = list(read_tables(store, prefix, since, until, skipped, ids, columns))
    return _logged(tables, skipped, columns)


def read_tables(
    store: ObjectStore,
    prefix: str,
    since: datetime | None,
    until: datetime | None,
    skipped: list[str],
    ids: Collection[str] | None = None,
    columns: Sequence[str] | None = None,
) -> Generator[pa.Table]:
    """`read_predictions` one file at a time, in listing order (not sorted by `scored_at` across files),
    for a caller that keeps less than a table of each; unusable keys are appended to `skipped`."""
    start, end = _as_utc(since), _as_utc(until)
    wanted = None if ids is None else pa.array(list(ids), pa.string())
    dated = _dated_keys(store, normalise_prefix(prefix), start, end, skipped)
    coverage = Coverage()
    # closing: a caller that stops early (a row limit) cancels the reads ahead at once.
    with closing(store.read_many(key for _, key in reading_order(dated))) as files:
        for key, data in files:
            table = _parsed(key, data, skipped, coverage)
            if table is not None:
                table = _within(table, start, end)
                table = table if wanted is None else _with_ids(table, wanted)
                yield table if columns is None else table.select(list(columns))


def _with_ids(table: pa.Table, wanted: pa.Array) -> pa.Table:
    import pyarrow.compute as pc  # only on this path: the drift check's start-up stays without it

    return table.filter(pc.is_in(table.column(TRANSACTION_ID), value_set=wanted))


def read_latest_predictions(
    store: ObjectStore,
    rows: int,
    prefix: str = "predictions",
    since: datetime | None = None,
    until: datetime | None = None,
) -> LoggedPredictions:
    """The latest `rows` rows scored in [since, until): files are read newest hour first and reading stops
    once enough rows are in, so a short window over a long history reads little."""
    start, end = _as_utc(since), _as_utc(until)
    skipped: list[str] = []
    dated = _dated_keys(store, normalise_prefix(prefix), start, end, skipped)
    tables: list[pa.Table] = []
    found = 0
    newest_first = reading_order(dated, newest_hour_first=True)
    hour_of = {key: hour for hour, key in newest_first}
    coverage = Coverage()
    last_hour: datetime | None = None

    def enough(hour: datetime) -> bool:
        # Files of one hour may interleave (several writers): finish the hour before stopping.
        return found >= rows and hour != last_hour

    def wanted() -> Iterator[str]:  # asked lazily: a store that reads one by one reads no file too many
        for hour, key in newest_first:
            if enough(hour):
                return
            yield key

    with closing(store.read_many(wanted())) as files:  # closing cancels the reads ahead of `enough`
        for key, data in files:
            if enough(hour_of[key]):
                break
            last_hour = hour_of[key]
            table = _parsed(key, data, skipped, coverage)
            if table is not None:
                table = _within(table, start, end)
                tables.append(table)
                found += table.num_rows
    logged = _logged(tables[::-1], skipped)  # oldest first: usually in order already, so no sort
    latest = logged.table.slice(max(logged.table.num_rows - rows, 0)) if rows else logged.table.slice(0, 0)
    return LoggedPredictions(table=latest, skipped=logged.skipped)


def _dated_keys(
    store: ObjectStore, prefix: str, start: datetime | None, end: datetime | None, skipped: list[str]
) -> list[tuple[datetime, str]]:
    """The files whose hour partition overlaps [start, end), with that hour; keys outside the layout are
    named in `skipped`."""
    dated: list[tuple[datetime, str]] = []
    for key in _candidate_keys(store, prefix, start, end):
        hour = partition_start(prefix, key)
        if hour is None:
            _skip(skipped, key, "not in the date=YYYY-MM-DD/hour=HH layout")
        elif (start is None or hour + PARTITION_SPAN > start) and (end is None or hour < end):
            dated.append((hour, key))
    return dated


def reading_order(
    dated: list[tuple[datetime, str]], newest_hour_first: bool = False
) -> list[tuple[datetime, str]]:
    """Hour by hour; within an hour, compacted files first, the newest merge first (it holds the most), then
    the writers' files oldest name first (so usually in `scored_at` order): a file whose rows a compacted
    file already gave is then read for nothing, only in the grace period before compaction deletes it."""
    by_hour: dict[datetime, tuple[list[str], list[str]]] = {}
    for hour, key in dated:
        by_hour.setdefault(hour, ([], []))[0 if is_compacted(key) else 1].append(key)
    ordered: list[tuple[datetime, str]] = []
    for hour in sorted(by_hour, reverse=newest_hour_first):
        compacted, written = by_hour[hour]
        ordered += [(hour, key) for key in (*sorted(compacted, reverse=True), *sorted(written))]
    return ordered


def _logged(
    tables: list[pa.Table], skipped: list[str], columns: Sequence[str] | None = None
) -> LoggedPredictions:
    combined = pa.concat_tables(tables) if tables else _empty(columns)
    if _in_order(combined):  # one writer's files, oldest first: a sort would copy every column for nothing
        return LoggedPredictions(table=combined, skipped=tuple(skipped))
    # Arrow's sort is stable, as pandas' "stable" was: rows of one instant keep their file order.
    return LoggedPredictions(table=combined.sort_by([(SCORED_AT, "ascending")]), skipped=tuple(skipped))


def _empty(columns: Sequence[str] | None) -> pa.Table:
    """No rows, with the columns asked for (made only when there are no rows: `empty_table` imports pandas,
    which the drift check's start-up avoids)."""
    empty = PREDICTION_SCHEMA.empty_table()
    return empty if columns is None else empty.select(list(columns))


def _in_order(table: pa.Table) -> bool:
    instants = arrow_to_numpy(table.column(SCORED_AT).combine_chunks())
    return bool(np.all(instants[1:] >= instants[:-1]))


def _candidate_keys(
    store: ObjectStore, prefix: str, start: datetime | None, end: datetime | None
) -> Iterator[str]:
    """List only the date folders of a bounded window; an open window lists the whole prefix."""
    if start is None or end is None or end - start > timedelta(days=MAX_DAYS_LISTED_ONE_BY_ONE):
        yield from store.list_keys(f"{prefix}/")
        return
    for folder in date_prefixes(prefix, start, end):
        yield from store.list_keys(folder)


def _parsed(key: str, data: bytes | None, skipped: list[str], coverage: Coverage) -> pa.Table | None:
    """The file's rows in PREDICTION_SCHEMA that the read has not taken from another file, or None when it
    has them all or the file cannot be used (then `key` is named in `skipped`)."""
    if data is None and coverage.taken(key):
        return None  # merged, then swept after the read listed it: its rows are in
    file = parse_capture_file(key, data, skipped)
    if file is None:
        return None
    rows = coverage.unseen(key, file)
    return rows if rows.num_rows or file.rows.num_rows == 0 else None


def parse_capture_file(key: str, data: bytes | None, skipped: list[str]) -> CaptureFile | None:
    """The file as a CaptureFile, or None (and `key` named in `skipped`)."""
    if data is None:
        _skip(skipped, key, "deleted while reading")
        return None
    try:
        # ParquetFile, not read_table: read_table goes through pyarrow.dataset (another import, ~0.1 s of
        # every `fraud drift check`); for one whole file both read the same table.
        # use_threads=False: decoded on this thread. Arrow's CPU pool drops its tasks' references after the
        # read returns; the last one to `data` (a Python buffer) then takes the GIL from a pool thread, and
        # one doing so while the interpreter finalizes is ended mid C++ unwind: std::terminate, exit 134 after
        # `fraud rollout status` had printed everything (2 runs in 150; 0 in 150 with this, same home).
        table = pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)
    except (pa.ArrowException, OSError) as error:
        _skip(skipped, key, f"not readable Parquet ({error})")
        return None
    file = capture_file(key, table)
    if isinstance(file, str):
        _skip(skipped, key, file)
        return None
    return file


def _within(table: pa.Table, start: datetime | None, end: datetime | None) -> pa.Table:
    """The rows scored in [start, end), found by binary search on the sorted instants: Arrow's compare
    kernels would turn the bounds into Arrow scalars, and making one imports pandas (see arrow_to_numpy)."""
    if start is None and end is None:
        return table
    instants = arrow_to_numpy(table.column(SCORED_AT).combine_chunks()).astype("datetime64[us]")
    if not len(instants):
        return table
    inside = (start is None or instants.min() >= _naive_utc(start)) and (
        end is None or instants.max() < _naive_utc(end)
    )
    if inside:  # the usual case for a file of the window: no sort
        return table
    table = table.sort_by([(SCORED_AT, "ascending")])  # stable: rows of one instant keep their file order
    instants = arrow_to_numpy(table.column(SCORED_AT).combine_chunks()).astype("datetime64[us]")
    low = 0 if start is None else int(np.searchsorted(instants, _naive_utc(start), "left"))
    high = len(instants) if end is None else int(np.searchsorted(instants, _naive_utc(end), "left"))
    return table.slice(low, max(high - low, 0))


def _naive_utc(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


def _skip(skipped: list[str], key: str, reason: str) -> None:
    logger.warning("prediction log: skipped %s: %s", key, reason)
    skipped.append(key)


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
