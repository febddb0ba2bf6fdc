"""A batch on its way into the queue: copied whole into column buffers, or refused whole."""

from __future__ import annotations

from collections.abc import Callable

from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import COPY_ERRORS, ColumnBuffer


class UnwritableBatchError(ValueError):
    """A batch the log cannot hold (shapes that disagree, values of the wrong type, a bad timestamp). Its
    rows were counted as dropped; nothing of it was queued."""

    def __init__(self, rows: int, problem: str) -> None:
        self.rows, self.problem = rows, problem
        super().__init__(problem)


def copy_across(
    first: ColumnBuffer,
    batch: PredictionBatch,
    rows: int,
    number: int,
    fresh: Callable[[], ColumnBuffer],
    recycle: Callable[[ColumnBuffer], None],
    clock: Callable[[], float],
) -> tuple[list[ColumnBuffer], ColumnBuffer, int]:
    """Fill `first`, then `fresh()` buffers; return (the buffers filled, the one now current, bytes copied).
    The caller seals nothing until every row is in, so a value numpy rejects midway (one of COPY_ERRORS,
    re-raised) is undone: `first` is cut back and the fresh buffers `recycle`d (the caller holds its lock)."""
    first_stop = first.stop
    filled: list[ColumnBuffer] = []
    buffer, begin, nbytes = first, 0, 0
    try:
        while begin < rows:
            if buffer.stop == buffer.start:
                buffer.appended_at = clock()
            end = begin + min(rows - begin, buffer.capacity - buffer.stop)
            nbytes += buffer.put(batch, number, begin, end)
            begin = end
            if buffer.stop == buffer.capacity:
                filled.append(buffer)
                buffer = fresh()
    except COPY_ERRORS:
        first.stop = first_stop
        for taken in [*filled, buffer]:
            if taken is not first:
                taken.reset()
                recycle(taken)
        raise
    return filled, buffer, nbytes


def requests_of(batch: PredictionBatch) -> str:
    """The batch's request(s), for a log line: its id, or the first of the rows' ids."""
    request_id = getattr(batch, "request_id", "?")
    if isinstance(request_id, tuple) and request_id:
        return f"requests {request_id[0]} and {len(request_id) - 1} more"
    return f"request {request_id}"
