"""The in-memory queue between request threads and the writer: cheap to append to, bounded in rows.

While storage is down rows pile up here; above `max_rows` the oldest batches are dropped (and counted) so
memory stays bounded and the request path never blocks. Rows a writer has taken stay counted as pending
until it settles them (written) or puts them back (failed write).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from fraud_detection.domain.ports.prediction_log import PredictionBatch

Entry = tuple[float, PredictionBatch]  # (clock() when appended, batch)


class PendingBatches:
    def __init__(self, *, max_rows: int, wake_rows: int, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque()
        self._clock = clock
        self._max_rows = max_rows
        self._wake_rows = wake_rows
        self._rows = 0
        self._closed = False
        self._abandoned = False
        self.rows_dropped = 0

    @property
    def rows(self) -> int:
        return self._rows

    def add(self, batch: PredictionBatch) -> tuple[bool, int]:
        """Queue a batch; return (the writer should look now, rows dropped to stay within the bound)."""
        rows = len(batch)
        with self._lock:
            if self._closed:
                raise RuntimeError("prediction log is closed: no batch can be appended after close()")
            if not rows:
                return False, 0
            was_empty = not self._entries
            self._entries.append((self._clock(), batch))
            before, self._rows = self._rows, self._rows + rows
            dropped = self._drop_oldest() if self._rows > self._max_rows else 0
            return was_empty or before < self._wake_rows <= self._rows, dropped

    def oldest_appended_at(self) -> float | None:
        with self._lock:
            return self._entries[0][0] if self._entries else None

    def queued_batches(self) -> int:
        return len(self._entries)

    def take(self, max_rows: int, max_batches: int | None = None) -> list[Entry]:
        """The oldest batches holding up to `max_rows` rows (at least one batch when any is queued)."""
        taken: list[Entry] = []
        rows = 0
        with self._lock:
            while self._entries and (not taken or rows + len(self._entries[0][1]) <= max_rows):
                if max_batches is not None and len(taken) >= max_batches:
                    break
                entry = self._entries.popleft()
                taken.append(entry)
                rows += len(entry[1])
        return taken

    def settle(self, rows: int, *, dropped: bool = False) -> None:
        """Taken rows are done with: written, or dropped as unwritable."""
        with self._lock:
            self._rows -= rows
            if dropped:
                self.rows_dropped += rows

    def put_back(self, entries: Sequence[Entry]) -> int:
        """Return taken batches to the front after a failed write; the rows dropped (bound or abandon)."""
        with self._lock:
            if self._abandoned:
                lost = sum(len(batch) for _, batch in entries)
                self._rows -= lost
                self.rows_dropped += lost
                return lost
            self._entries.extendleft(reversed(entries))
            return self._drop_oldest() if self._rows > self._max_rows else 0

    def close(self) -> bool:
        """Refuse further batches; True the first time."""
        with self._lock:
            first, self._closed = not self._closed, True
            return first

    def abandon(self) -> int:
        """Give up on every queued row (and on taken rows whose write later fails); return rows lost now."""
        with self._lock:
            self._abandoned = True
            lost = sum(len(batch) for _, batch in self._entries)
            self._entries.clear()
            self._rows -= lost
            self.rows_dropped += lost
            return lost

    def _drop_oldest(self) -> int:
        dropped = 0
        while self._rows > self._max_rows and self._entries:
            _, batch = self._entries.popleft()
            self._rows -= len(batch)
            dropped += len(batch)
        self.rows_dropped += dropped
        return dropped
