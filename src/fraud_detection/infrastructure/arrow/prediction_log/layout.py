"""Where prediction files live:
`<prefix>/date=YYYY-MM-DD/hour=HH/<YYYYmmddTHHMMSS>-<pid>-<seq>-<uuid8>.parquet`.

Partitions by UTC date and hour let readers skip whole days; pid, a per-log sequence and a random suffix keep
names unique across uvicorn workers and replicas writing to the same store, so no write replaces another.
A closed hour's files are later merged into `compacted-<YYYYmmddTHHMMSSffffff>-<uuid8>.parquet` in the same
folder (see compaction.py), named by when the merge ran.
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np

SECONDS_PER_HOUR = 3600
MICROSECONDS = 1_000_000
PARTITION_SPAN = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PARTITION = re.compile(r"date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/[^/]+")


def normalise_prefix(prefix: str) -> str:
    cleaned = prefix.strip("/")
    if not cleaned:
        raise ValueError("prediction log prefix must be a non-empty key prefix such as 'predictions'")
    return cleaned


def scored_microseconds(scored_at: np.ndarray) -> np.ndarray:
    """Unix microseconds, as the `scored_at` column stores them. The partition and the file name follow the
    same rounding: a row scored 0.3 us before an hour was stored at the hour but filed in the hour before,
    and read by neither hour's window."""
    micros: np.ndarray = np.round(np.asarray(scored_at, dtype=np.float64) * MICROSECONDS).astype(np.int64)
    return micros


def hour_buckets(scored_at: np.ndarray) -> np.ndarray:
    """UTC hours since the epoch: rows sharing one share a partition (Unix time has no leap seconds)."""
    hours: np.ndarray = np.floor_divide(scored_microseconds(scored_at), SECONDS_PER_HOUR * MICROSECONDS)
    return hours


def hour_order(scored_at: np.ndarray) -> np.ndarray | None:
    """The stable permutation that brings rows of the same UTC hour together (append order kept within an
    hour), or None when they already are: the usual case, which costs one vectorised comparison."""
    hours = hour_buckets(scored_at)
    if not np.any(hours[1:] < hours[:-1]):
        return None
    return np.argsort(hours, kind="stable")


def hour_runs(scored_at: np.ndarray) -> list[slice]:
    """The slices of rows that share a UTC hour, for rows already in hour order: one file each."""
    hours = hour_buckets(scored_at)
    if not len(hours):
        return []
    edges = [0, *(np.flatnonzero(hours[1:] != hours[:-1]) + 1).tolist(), len(hours)]
    return [slice(begin, end) for begin, end in itertools.pairwise(edges)]


def file_key(prefix: str, first_scored_at: float, pid: int, sequence: int) -> str:
    at = EPOCH + timedelta(microseconds=round(first_scored_at * MICROSECONDS))  # as scored_microseconds
    name = f"{at:%Y%m%dT%H%M%S}-{pid}-{sequence:06d}-{uuid.uuid4().hex[:8]}.parquet"
    return f"{prefix}/date={at:%Y-%m-%d}/hour={at:%H}/{name}"


COMPACTED_PREFIX = "compacted-"


def compacted_key(prefix: str, hour: datetime, made_at: datetime) -> str:
    """A new compacted file of `hour`'s folder; names sort by `made_at`, so the newest merge reads first."""
    name = f"{COMPACTED_PREFIX}{made_at.astimezone(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
    return f"{prefix}/date={hour:%Y-%m-%d}/hour={hour:%H}/{name}"


def file_name(key: str) -> str:
    """The name within its hour folder: what a compacted file records of each file it merged."""
    return key.rpartition("/")[2]


def is_compacted(key: str) -> bool:
    return file_name(key).startswith(COMPACTED_PREFIX)


def compacted_at(key: str) -> datetime | None:
    """When a compacted file was made, from its name; None for a name that is not one."""
    stamp = file_name(key).removeprefix(COMPACTED_PREFIX).partition("-")[0]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def partition_start(prefix: str, key: str) -> datetime | None:
    """The UTC hour a key's partition covers, or None for a key outside the layout."""
    relative = key.removeprefix(f"{prefix}/")
    match = _PARTITION.fullmatch(relative) if relative != key else None
    if match is None:
        return None
    try:
        day = date.fromisoformat(match.group(1))
        return datetime(day.year, day.month, day.day, int(match.group(2)), tzinfo=UTC)
    except ValueError:
        return None


def date_prefixes(prefix: str, since: datetime, until: datetime) -> list[str]:
    """The `date=` folders that can hold rows scored in [since, until)."""
    last = (until - timedelta(microseconds=1)).date()
    days = (last - since.date()).days + 1
    return [f"{prefix}/date={since.date() + timedelta(days=i):%Y-%m-%d}/" for i in range(max(days, 0))]
