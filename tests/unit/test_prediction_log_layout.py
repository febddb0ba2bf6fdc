"""The prediction log's key layout, its column buffers and its bounded pending queue, without any storage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from sys import getsizeof

import numpy as np
import pytest

from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import (
    SLOT_BYTES,
    ColumnBuffer,
    batch_problem,
)
from fraud_detection.infrastructure.arrow.prediction_log.layout import (
    date_prefixes,
    file_key,
    hour_order,
    hour_runs,
    normalise_prefix,
    partition_start,
)
from fraud_detection.infrastructure.arrow.prediction_log.pending_rows import PendingRows, UnwritableBatchError

HOUR = 3600.0


def batch(request_id: str, rows: int, scored_at: float = 0.0, first_value: float = 0.0) -> PredictionBatch:
    """Row i has inputs[:, 0] == first_value + i, so tests can follow rows through the buffers."""
    inputs = np.zeros((rows, 29))
    inputs[:, 0] = first_value + np.arange(rows)
    return PredictionBatch(
        inputs, np.zeros(rows), (None,) * rows, np.zeros(rows), np.zeros(rows, dtype=bool),
        "m", 1, request_id, scored_at,
    )  # fmt: skip


def queue(max_rows: int = 100, buffer_rows: int = 10, now: float = 5.0) -> PendingRows:
    return PendingRows(buffer_rows=buffer_rows, max_rows=max_rows, monotonic=lambda: now)


def pending_values(buffer: ColumnBuffer) -> list[float]:
    return buffer.inputs[buffer.start : buffer.stop, 0].tolist()


# Layout ----------------------------------------------------------------------------------------------


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


def test_rows_are_grouped_by_hour_keeping_append_order_within_an_hour() -> None:
    at = np.array([5.5, 6.1, 5.9, 7.0, 6.0, 5.0]) * HOUR
    order = hour_order(at)
    assert order is not None
    assert order.tolist() == [0, 2, 5, 1, 4, 3]
    assert [(run.start, run.stop) for run in hour_runs(at[order])] == [(0, 3), (3, 5), (5, 6)]
    in_order = np.array([5.0, 5.9, 6.0]) * HOUR
    assert hour_order(in_order) is None
    assert [(run.start, run.stop) for run in hour_runs(in_order)] == [(0, 2), (2, 3)]
    assert hour_runs(np.array([])) == []


# Column buffer -------------------------------------------------------------------------------------


def test_a_buffer_copies_values_and_keeps_no_view_of_the_batch() -> None:
    buffer = ColumnBuffer(8)
    one = replace(batch("a", 1, first_value=1.0), transaction_ids=("tx",), scored_at=12.5)
    three = batch("b", 3, first_value=10.0)
    buffer.put_row(one, number=0)
    buffer.put(three, number=1, begin=1, end=3)
    one.inputs[0, 0] = 99.0  # the caller reusing its arrays must not change what was queued
    assert pending_values(buffer) == [1.0, 11.0, 12.0]
    assert buffer.transaction_ids[:3].tolist() == ["tx", None, None]
    assert buffer.request_ids[:3].tolist() == ["a", "b", "b"]
    assert buffer.batch_numbers[:3].tolist() == [0, 1, 1]
    assert buffer.scored_at[:3].tolist() == [12.5, 0.0, 0.0]


def test_a_buffer_regroups_its_pending_rows_by_hour_in_place() -> None:
    buffer = ColumnBuffer(8)
    for number, (hour, value) in enumerate([(6, 0.0), (5, 1.0), (6, 2.0), (5, 3.0)]):
        buffer.put_row(batch(f"r{value:.0f}", 1, scored_at=hour * HOUR, first_value=value), number)
    buffer.start = 1  # the first row was written already
    buffer.group_by_hour()
    assert pending_values(buffer) == [1.0, 3.0, 2.0]
    assert buffer.request_ids[1:4].tolist() == ["r1", "r3", "r2"]
    buffer.reset()
    assert (buffer.start, buffer.stop, buffer.request_ids[0]) == (0, 0, None)


def test_a_batch_of_several_requests_keeps_each_rows_request_id_across_buffers() -> None:
    """The shadow scorer captures many requests' rows as one batch, with one request id per row; each row
    then holds (and counts the bytes of) its own id."""
    rows = queue(buffer_rows=3)
    rows.add(replace(batch("x", 1), request_id=("solo",)))  # a one-row batch: the put_row path
    rows.add(replace(batch("x", 4, first_value=10.0), request_id=("a", "b", "b", "c")))
    assert rows.seal() == 2
    taken = [rows.take(), rows.take()]
    assert [b.request_ids[b.start : b.stop].tolist() for b in taken if b is not None] == [
        ["solo", "a", "b"], ["b", "c"]
    ]  # fmt: skip
    strings = getsizeof("solo") + sum(map(getsizeof, "abbc")) + 2 * getsizeof("m") + 5 * getsizeof(None)
    assert rows.bytes == 5 * SLOT_BYTES + strings


def test_batch_problem_names_what_is_wrong() -> None:
    good = batch("a", 2)
    assert batch_problem(good, 2) is None
    assert batch_problem(replace(good, times=np.zeros(3)), 2) == "times do not match 2 probabilities"
    assert batch_problem(replace(good, inputs=np.zeros((2, 3)), transaction_ids=(None,)), 2) == (
        "inputs, transaction_ids do not match 2 probabilities"
    )
    assert batch_problem(replace(good, request_id=("a", "b", "c")), 2) == (
        "request_id do not match 2 probabilities"
    )
    assert batch_problem(replace(good, request_id=("a", "b")), 2) is None
    for scored_at in (float("nan"), -1.0, float("inf"), 1e20):
        assert "is not a Unix time" in str(batch_problem(replace(good, scored_at=scored_at), 2))


# Pending queue -------------------------------------------------------------------------------------


def test_queue_wakes_the_writer_when_rows_arrive_and_when_a_buffer_fills() -> None:
    rows = queue(buffer_rows=10)
    assert rows.add(batch("a", 4)) == (True, 0)  # was empty: the writer starts its age timer
    assert rows.add(batch("b", 5)) == (False, 0)
    assert rows.add(batch("c", 3)) == (True, 0)  # filled a buffer: 2 rows go on in the next one
    assert (rows.rows, rows.queued_rows(), rows.oldest_appended_at()) == (12, 12, 5.0)
    assert rows.take(max_age=60.0) is not None  # a full buffer is due at once
    assert rows.take(max_age=60.0) is None  # 2 rows, 0 s old: not due
    assert rows.rows == 12  # taken rows stay pending until settled or put back


def test_queue_seals_and_hands_out_buffers_oldest_first() -> None:
    rows = queue(buffer_rows=4)
    for name, first in [("a", 0.0), ("b", 10.0), ("c", 20.0)]:
        rows.add(batch(name, 3, first_value=first))
    assert rows.seal() == 3  # two full buffers and the one holding the last row
    taken = [rows.take() for _ in range(3)]
    assert [pending_values(buffer) for buffer in taken if buffer is not None] == [
        [0.0, 1.0, 2.0, 10.0],
        [11.0, 12.0, 20.0, 21.0],
        [22.0],
    ]
    assert rows.take() is None


def test_queue_drops_the_oldest_rows_over_its_bound() -> None:
    rows = queue(max_rows=10, buffer_rows=4)
    assert rows.add(batch("a", 6, first_value=0.0)) == (True, 0)
    assert rows.add(batch("b", 6, first_value=100.0)) == (True, 2)
    assert (rows.rows, rows.rows_dropped) == (10, 2)
    rows.seal()
    values = [value for buffer in iter(rows.take, None) for value in pending_values(buffer)]
    assert values == [2.0, 3.0, 4.0, 5.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0]


def test_a_taken_buffer_put_back_is_written_first_and_abandon_counts_it_as_lost() -> None:
    rows = queue(buffer_rows=2)
    rows.add(batch("a", 2, first_value=0.0))
    rows.add(batch("b", 1, first_value=10.0))
    taken = rows.take()
    assert taken is not None
    taken.start += 1  # its first row was written, then the store failed
    rows.settle(1, taken.bytes_of(0, 1))
    assert rows.put_back(taken) == 0
    rows.seal()
    assert [pending_values(buffer) for buffer in iter(rows.take, None)] == [[1.0], [10.0]]
    again = queue(buffer_rows=2)
    again.add(batch("a", 3))
    in_flight = again.take()
    assert in_flight is not None
    assert again.abandon() == 1
    assert again.put_back(in_flight) == 2  # its write failed after close gave up: lost too
    assert (again.rows, again.rows_dropped) == (0, 3)


def test_a_batch_across_buffers_is_queued_whole_or_not_at_all() -> None:
    rows = queue(buffer_rows=4)
    rows.add(batch("first", 3, first_value=0.0))
    bad_inputs = np.zeros((6, 29), dtype=object)
    bad_inputs[5, 0] = "not a number"  # in the second buffer the batch would reach
    with pytest.raises(UnwritableBatchError, match="wrong type") as raised:
        rows.add(replace(batch("bad", 6), inputs=bad_inputs))
    assert raised.value.rows == 6
    assert (rows.rows, rows.queued_rows(), rows.rows_dropped) == (3, 3, 6)
    assert rows.take(max_age=60.0) is None  # nothing was sealed: 3 rows, not due
    rows.add(batch("good", 6, first_value=10.0))
    rows.seal()
    assert [pending_values(buffer) for buffer in iter(rows.take, None)] == [
        [0.0, 1.0, 2.0, 10.0],
        [11.0, 12.0, 13.0, 14.0],
        [15.0],
    ]


def test_queue_refuses_malformed_batches_and_batches_after_close() -> None:
    rows = queue()
    with pytest.raises(UnwritableBatchError, match="do not match"):
        rows.add(replace(batch("short", 2), times=np.zeros(1)))
    with pytest.raises(UnwritableBatchError, match="malformed"):
        rows.add(replace(batch("list", 1), inputs=[[0.0] * 29]))  # type: ignore[arg-type]
    assert (rows.rows, rows.rows_dropped) == (0, 3)
    assert rows.add(batch("empty", 0)) == (False, 0)
    assert rows.close() is True
    assert rows.close() is False
    with pytest.raises(RuntimeError, match="closed"):
        rows.add(batch("late", 1))
