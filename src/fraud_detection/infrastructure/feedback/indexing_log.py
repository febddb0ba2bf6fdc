"""A PredictionLog that also tells the FeedbackStore which transaction ids were scored, so labels arriving
days later can be matched with the decision that was served.

`append` forwards the batch to the wrapped log, then copies the rows that carry a transaction id into
preallocated columns (~1 us for one row; no I/O, no lock held across a store call). A daemon thread records
them with one `record_scored` call per `interval_seconds`; a failing store is retried with backoff while new
rows wait, up to `max_pending_rows`, beyond which rows are dropped and counted (their labels will be
`unknown`). Capture itself never depends on the feedback store.

Counters for metrics: rows_indexed, store_calls, store_failures, rows_dropped, pending_rows, store_seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time

from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
from fraud_detection.infrastructure.feedback.scored_ids import PendingScoredIds, ScoredIdColumns

logger = logging.getLogger(__name__)


class IndexingPredictionLog(PredictionLog):
    def __init__(
        self,
        inner: PredictionLog,
        store: FeedbackStore,
        *,
        interval_seconds: float = 1.0,
        max_pending_rows: int = 100_000,
        retry_max_seconds: float = 30.0,
        close_timeout_seconds: float = 10.0,
    ) -> None:
        if min(interval_seconds, retry_max_seconds, close_timeout_seconds) <= 0:
            raise ValueError("interval, retry and close timings must be positive")
        self.inner = inner
        self._store = store
        self._interval = interval_seconds
        self._retry_max = retry_max_seconds
        self._close_timeout = close_timeout_seconds
        self._pending = PendingScoredIds(max_pending_rows)
        self._held: ScoredIdColumns | None = None  # taken, not yet recorded (kept across failures)
        self._index_lock = threading.Lock()  # one indexer at a time: the thread, flush() or close()
        self._stopping = threading.Event()
        self._failures = 0
        self.rows_indexed = 0
        self.store_calls = 0
        self.store_failures = 0
        self.store_seconds = 0.0
        self.malformed_batches = 0
        self._thread = threading.Thread(target=self._run, name="feedback-indexer", daemon=True)
        self._thread.start()

    @property
    def rows_dropped(self) -> int:
        return self._pending.rows_dropped

    @property
    def pending_rows(self) -> int:
        held = self._held
        return self._pending.queued_rows + (held.stop if held is not None else 0)

    def append(self, batch: PredictionBatch) -> None:
        self.inner.append(batch)  # capture first: it must not depend on indexing
        try:
            self._pending.add(batch)
        except Exception:  # a malformed batch: the inner log has dropped and reported it already
            self.malformed_batches += 1

    def flush(self) -> int:
        """Flush the wrapped log, then record every id appended before this call (raises when the store
        fails; the rows stay queued for the thread)."""
        written = self.inner.flush()
        with self._index_lock:
            self._index_pending()
        return written

    def close(self) -> None:
        if not self._stopping.is_set():
            self._stopping.set()
            self._thread.join(self._close_timeout)
            if self._thread.is_alive():
                logger.error(
                    "feedback index: store still busy after %.0f s; %d scored ids not recorded",
                    self._close_timeout,
                    self.pending_rows,
                )
        self.inner.close()

    def _run(self) -> None:
        while not self._stopping.wait(self._delay()):
            self._attempt()
        deadline = time.monotonic() + self._close_timeout
        while not self._attempt() and time.monotonic() + self._delay() < deadline:
            time.sleep(min(self._delay(), 1.0))
        if self.pending_rows:
            logger.error("feedback index: %d scored ids not recorded at close", self.pending_rows)

    def _delay(self) -> float:
        if not self._failures:
            return self._interval
        ceiling = min(self._retry_max, self._interval * 2.0 ** (self._failures - 1))
        return ceiling * random.uniform(0.5, 1.0)  # jitter: replicas that failed together retry apart

    def _attempt(self) -> bool:
        """Record what is pending; False after a failure (logged; the rows stay held for the next try)."""
        try:
            with self._index_lock:
                self._index_pending()
        except Exception as error:
            self._failures += 1
            logger.warning(
                "feedback index: recording scored ids failed (%s); %d pending, retry %d",
                error,
                self.pending_rows,
                self._failures,
                exc_info=self._failures == 1,
            )
            return False
        self._failures = 0
        return True

    def _index_pending(self) -> None:
        """The held rows (a failed earlier attempt), then what was queued until now. Caller holds the lock."""
        for _ in range(2):
            if self._held is None:
                self._held = self._pending.take()
                if self._held is None:
                    return
            rows = self._held.rows()
            started = time.perf_counter()
            self.store_calls += 1
            try:
                self._store.record_scored(rows)
            except Exception:
                self.store_failures += 1
                raise
            finally:
                self.store_seconds += time.perf_counter() - started
            self.rows_indexed += len(rows)
            self._pending.release(self._held)
            self._held = None
