"""The in-memory queue between request threads and the writer: column buffers, bounded in bytes (and rows).

Request threads copy rows into the current buffer; when it is full (or the writer finds its first row old
enough) it is sealed and queued, and a spare takes its place, so appends never wait for a write (double
buffering). The writer takes sealed buffers, writes them and hands them back as spares. While storage is
down (and the local spill too) sealed buffers pile up; above `max_bytes` (or `max_rows`) the oldest rows
are dropped (and counted) so memory stays bounded and a single score never blocks (a batch request's thread
may first wait for room while the writer is making progress: `wait_for_room`). Rows a writer has
taken stay counted as pending until it settles them (written, spilled or dropped) or puts the buffer back
(failed write).
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log.batch_copy import (
    UnwritableBatchError as UnwritableBatchError,
)
from fraud_detection.infrastructure.arrow.prediction_log.batch_copy import copy_across
from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import (
    COPY_ERRORS,
    SLOT_BYTES,
    ColumnBuffer,
    batch_problem,
)

SPARE_BUFFERS = 2


class PendingRows:
    def __init__(
        self,
        *,
        buffer_rows: int,
        max_rows: int,
        monotonic: Callable[[], float],
        max_bytes: float = math.inf,
    ) -> None:
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified whenever pending bytes fall
        self._buffer_rows = buffer_rows
        self._current = ColumnBuffer(buffer_rows)
        self._spares = [ColumnBuffer(buffer_rows)]
        self._sealed: deque[ColumnBuffer] = deque()
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._monotonic = monotonic  # for ages: a wall clock stepped back (NTP) would hold rows in memory
        self._numbers = itertools.count()
        self._rows = 0
        self._bytes = 0
        self._discarded: list[ColumnBuffer] = []  # dropped whole while queued: their journals can go
        self._closed = False
        self._abandoned = False
        self.rows_dropped = 0

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def bytes(self) -> int:
        """Bytes held by the pending rows (slots and strings), taken ones included."""
        return self._bytes

    def unjournaled(self) -> list[tuple[ColumnBuffer, int, int]]:
        """(buffer, generation, stop) of queued buffers with rows past their journaled mark."""
        with self._lock:
            buffers = [*self._sealed, self._current]
            return [(b, b.generation, b.stop) for b in buffers if b.stop > b.journaled]

    def take_discarded(self) -> list[ColumnBuffer]:
        """Buffers whose rows were all dropped since the last call (their journal files are stale)."""
        with self._lock:
            discarded, self._discarded = self._discarded, []
            return discarded

    def add(self, batch: PredictionBatch) -> tuple[bool, int]:
        """Copy a batch's rows in; return (the writer should look now, rows dropped to stay within the bound).
        Raises UnwritableBatchError for a batch it cannot hold, RuntimeError after `close`."""
        rows = 0
        try:
            rows = len(batch.probabilities)
            problem = batch_problem(batch, rows)
        except (AttributeError, TypeError, ValueError) as error:
            problem = f"malformed batch ({error})"
        self._lock.acquire()  # not `with`: ~70 ns against ~150 ns, on the request path
        try:
            if self._closed:
                raise RuntimeError("prediction log is closed: no batch can be appended after close()")
            if problem is None:
                try:
                    return self._copy(batch, rows)
                except COPY_ERRORS as error:
                    problem = f"values of the wrong type ({error})"
            self.rows_dropped += rows
        finally:
            self._lock.release()
        raise UnwritableBatchError(rows, problem)

    def wait_for_room(self, fraction: float, timeout: float, worth_it: Callable[[], bool]) -> bool:
        """Block until the pending bytes are at most `fraction` of the bound, or `timeout` passes or
        `worth_it()` turns False (the writer failing); False then. For appenders that may wait (a batch
        request's worker thread), so that a writer slower than the scoring slows the requests rather than
        dropping their rows."""
        deadline = time.monotonic() + timeout
        with self._room:
            while self._bytes > fraction * self._max_bytes and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0 or self._abandoned or not worth_it():
                    return False
                self._room.wait(left)
            return True

    def oldest_appended_at(self) -> float | None:
        with self._lock:
            return self._oldest_appended_at()

    def queued_rows(self) -> int:
        """Rows not taken by a writer."""
        with self._lock:
            return self._queued_rows()

    def seal(self) -> int:
        """Queue the current buffer if it holds rows; return how many buffers are queued."""
        with self._lock:
            if self._current.rows:
                self._seal_current()
            return len(self._sealed)

    def take(self, max_age: float | None = None) -> ColumnBuffer | None:
        """The oldest queued buffer (sealing the current one when none is). With `max_age`, only when a write
        is due: the queued rows fill a buffer, or the oldest is `max_age` old by `monotonic`. So rows put back
        after a failed flush wait for those triggers, as rows never taken do."""
        with self._lock:
            if max_age is not None and not self._due(max_age):
                return None
            if not self._sealed and self._current.rows:
                self._seal_current()
            return self._sealed.popleft() if self._sealed else None

    def settle(self, rows: int, nbytes: int, *, dropped: bool = False) -> None:
        """Taken rows (holding `nbytes`) are done with: written or spilled, or dropped as unwritable."""
        with self._lock:
            self._rows -= rows
            self._bytes -= nbytes
            if dropped:
                self.rows_dropped += rows
            self._room.notify_all()

    def put_back(self, buffer: ColumnBuffer) -> int:
        """Queue a taken buffer again, first, after a failed write; return the rows dropped (bound or
        abandon)."""
        with self._lock:
            if self._abandoned:
                lost = buffer.rows
                self._rows -= lost
                self._bytes -= buffer.bytes_of(buffer.start, buffer.stop)
                self.rows_dropped += lost
                return lost
            self._sealed.appendleft(buffer)
            self._room.notify_all()  # a failed write: waiters look again whether waiting is worth it
            return self._drop_oldest() if self._over() else 0

    def release(self, buffer: ColumnBuffer) -> None:
        """A taken buffer whose rows are all settled: keep it as a spare."""
        buffer.reset()
        with self._lock:
            if len(self._spares) < SPARE_BUFFERS:
                self._spares.append(buffer)

    def close(self) -> bool:
        """Refuse further batches; True the first time."""
        with self._lock:
            first, self._closed = not self._closed, True
            self._room.notify_all()
            return first

    def abandon(self) -> int:
        """Give up on every queued row (and on taken rows whose write later fails); return rows lost now."""
        with self._lock:
            self._abandoned = True
            lost = self._queued_rows()
            self._bytes -= sum(b.bytes_of(b.start, b.stop) for b in [*self._sealed, self._current])
            self._sealed.clear()
            self._current.start = self._current.stop
            self._rows -= lost
            self.rows_dropped += lost
            self._room.notify_all()
            return lost

    # Called with the lock held ---------------------------------------------------------------------

    def _oldest_appended_at(self) -> float | None:
        if self._sealed:
            return self._sealed[0].appended_at
        return self._current.appended_at if self._current.rows else None

    def _queued_rows(self) -> int:
        return sum(buffer.rows for buffer in self._sealed) + self._current.rows

    def _due(self, max_age: float) -> bool:
        if self._queued_rows() >= self._buffer_rows:
            return True
        oldest = self._oldest_appended_at()
        return oldest is not None and self._monotonic() - oldest >= max_age

    def _copy(self, batch: PredictionBatch, rows: int) -> tuple[bool, int]:
        """Copy all the batch's rows or none (numpy raises one of COPY_ERRORS); return as `add` does."""
        if not rows:
            return False, 0
        buffer = self._current
        was_empty = buffer.stop == buffer.start and not self._sealed
        number = next(self._numbers)
        if buffer.stop + rows > buffer.capacity:
            filled, self._current, nbytes = copy_across(
                buffer, batch, rows, number, self._fresh, self._spares.append, self._monotonic
            )  # all rows or none: a value numpy rejects midway leaves the queue as it was
            self._sealed.extend(filled)
            sealed = True
        else:
            if buffer.stop == buffer.start:
                buffer.appended_at = self._monotonic()
            nbytes = buffer.put_row(batch, number) if rows == 1 else buffer.put(batch, number, 0, rows)
            sealed = buffer.stop == buffer.capacity
            if sealed:
                self._seal_current()
        self._rows += rows
        self._bytes += nbytes
        dropped = self._drop_oldest() if self._over() else 0
        return was_empty or sealed, dropped

    def _seal_current(self) -> None:
        self._sealed.append(self._current)
        self._current = self._fresh()

    def _fresh(self) -> ColumnBuffer:
        return self._spares.pop() if self._spares else ColumnBuffer(self._buffer_rows)

    def _over(self) -> bool:
        return self._rows > self._max_rows or self._bytes > self._max_bytes

    def _drop_oldest(self) -> int:
        """Skip the oldest queued rows (never those a writer has taken) until both bounds hold."""
        dropped = 0
        while self._over() and (self._sealed or self._current.rows):
            buffer = self._sealed[0] if self._sealed else self._current
            skip = max(self._rows - self._max_rows, 0)
            excess_bytes = self._bytes - self._max_bytes
            if excess_bytes > 0:
                sizes = np.cumsum(buffer.text_bytes[buffer.start : buffer.stop] + SLOT_BYTES)
                skip = max(skip, int(np.searchsorted(sizes, excess_bytes)) + 1)
            skip = min(skip, buffer.rows)
            self._bytes -= buffer.bytes_of(buffer.start, buffer.start + skip)
            self._rows -= skip
            buffer.start += skip
            dropped += skip
            if self._sealed and not buffer.rows:
                self._discarded.append(self._sealed.popleft())
        self.rows_dropped += dropped
        if dropped:
            self._room.notify_all()
        return dropped
