"""The prediction log's key layout and its bounded pending queue, without any storage."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.prediction_log.layout import (
    date_prefixes,
    file_key,
    normalise_prefix,
    partition_start,
)
from fraud_detection.infrastructure.prediction_log.pending_batches import PendingBatches


def batch(request_id: str, rows: int) -> PredictionBatch:
    return PredictionBatch(
        np.zeros((rows, 29)), np.zeros(rows), (None,) * rows, np.zeros(rows), np.zeros(rows, dtype=bool),
        "m", 1, request_id, 0.0,
    )  # fmt: skip


def test_file_key_is_partitioned_by_the_utc_hour_of_its_first_row() -> None:
    moment = datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC).timestamp()
    key = file_key("p", moment, pid=4321, sequence=12)
    assert key.startswith("p/date=2026-12-31/hour=23/20261231T235958-4321-000012-")
    assert partition_start("p", key) == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert file_key("p", moment, 4321, 12) != key  # the random suffix: no two writers share a name


@pytest.mark.parametrize(
    "key",
    ["p/README", "p/date=2026-13-01/hour=01/x.parquet", "p/date=2026-01-01/hour=24/x.parquet",
     "other/date=2026-01-01/hour=01/x.parquet", "p/date=2026-01-01/hour=01/deeper/x.parquet"],
)  # fmt: skip
def test_keys_outside_the_layout_have_no_partition(key: str) -> None:
    assert partition_start("p", key) is None


def test_date_prefixes_cover_a_half_open_window() -> None:
    since, until = datetime(2026, 1, 30, 12, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC)
    assert date_prefixes("p", since, until) == [
        "p/date=2026-01-30/",
        "p/date=2026-01-31/",
        "p/date=2026-02-01/",
    ]


def test_prefix_must_not_be_empty() -> None:
    assert normalise_prefix("/predictions/") == "predictions"
    with pytest.raises(ValueError, match="non-empty"):
        normalise_prefix("/")


def test_queue_wakes_the_writer_when_it_fills_and_drops_the_oldest_over_its_bound() -> None:
    queue = PendingBatches(max_rows=10, wake_rows=6, clock=lambda: 5.0)
    assert queue.add(batch("a", 4)) == (True, 0)  # was empty
    assert queue.add(batch("b", 1)) == (False, 0)
    assert queue.add(batch("c", 3)) == (True, 0)  # crossed wake_rows
    assert queue.add(batch("d", 4)) == (False, 4)  # 12 > 10: "a" goes
    assert (queue.rows, queue.rows_dropped, queue.oldest_appended_at()) == (8, 4, 5.0)
    taken = queue.take(max_rows=5)
    assert [entry[1].request_id for entry in taken] == ["b", "c"]
    assert queue.rows == 8  # taken rows stay pending until settled or put back
    queue.put_back(taken)
    assert [entry[1].request_id for entry in queue.take(max_rows=100)] == ["b", "c", "d"]


def test_queue_refuses_batches_after_close() -> None:
    queue = PendingBatches(max_rows=10, wake_rows=5, clock=lambda: 0.0)
    assert queue.close() is True
    assert queue.close() is False
    with pytest.raises(RuntimeError, match="closed"):
        queue.add(batch("late", 1))
