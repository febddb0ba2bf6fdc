"""A PredictionLog that also tells the FeedbackStore which transaction ids were scored, so labels arriving
days later can be matched with the decision that was served.

`append` forwards the batch to the wrapped log, then copies the rows that carry a transaction id into
preallocated columns (~1 us for one row; no I/O, no lock held across a store call). A daemon thread records
them with one `record_scored` call per `interval_seconds`; a failing store is retried with backoff while new
rows wait, up to `max_pending_rows`, beyond which rows are dropped and counted (their labels will be
`unknown`). Capture itself never depends on the feedback store.

Counters for metrics (also sent to `telemetry`): rows_indexed, store_calls, store_failures, rows_dropped,
rows_lost_at_close, pending_rows, store_seconds. `append` reports nothing (it is the request path): drops and
the pending rows are reported from the indexer's tick, before its store call, so ticks that fail or hang
still report them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (
    DECISION,
    MODEL_VERSION,
    PROBABILITY,
    SCORED_AT,
    TRANSACTION_ID,
)
from fraud_detection.infrastructure.local.background_writer import BackgroundWriter, Backoff
from fraud_detection.infrastructure.local.feedback.scored_ids import PendingScoredIds, ScoredIdColumns

logger = logging.getLogger(__name__)

DROPPED_OVER_BOUND = "over_bound"  # more than max_pending_rows waiting: the store failing or slow
DROPPED_AT_CLOSE = "at_close"  # still unrecorded when the log closed (the store failing or hanging then)


def index_recovered(store: FeedbackStore, rows: pa.Table) -> None:
    """Record the ids of captured rows a killed process had journalled but not indexed (its indexer runs
    every `interval_seconds`): a crash probe found 8,600 such rows whose labels came back `unknown`,
    though they sat in the capture files. An id's first scoring is kept: one indexed before is unchanged."""
    kept = rows.filter(pc.is_valid(rows[TRANSACTION_ID]))
    columns = [kept[name].to_pylist() for name in (TRANSACTION_ID, MODEL_VERSION, PROBABILITY, DECISION)]
    store.record_scored(
        [
            ScoredTransaction(str(tid), int(version), float(probability), bool(decision), scored_at)
            for tid, version, probability, decision, scored_at in zip(
                *columns, kept[SCORED_AT].to_pylist(), strict=True
            )
        ]
    )


class IndexTelemetry(Protocol):
    """What the feedback index reports for metrics; infrastructure/prometheus/metrics.py implements it."""

    def ids_recorded(self, rows: int) -> None:
        """Scored ids the feedback store took."""

    def store_failed(self) -> None:
        """One call recording scored ids failed (the ids stay queued for the retry)."""

    def ids_dropped(self, rows: int, reason: str) -> None:
        """Scored ids given up for good (`reason`: DROPPED_OVER_BOUND or DROPPED_AT_CLOSE); their labels
        will come back `unknown`."""

    def pending(self, rows: int) -> None:
        """Scored ids waiting to be recorded now."""


class NoTelemetry:
    def ids_recorded(self, rows: int) -> None:
        pass

    def store_failed(self) -> None:
        pass

    def ids_dropped(self, rows: int, reason: str) -> None:
        pass

    def pending(self, rows: int) -> None:
        pass


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
        telemetry: IndexTelemetry | None = None,
    ) -> None:
        if min(interval_seconds, retry_max_seconds, close_timeout_seconds) <= 0:
            raise ValueError("interval, retry and close timings must be positive")
        self.inner = inner
        self._store = store
        self._close_timeout = close_timeout_seconds
        self._pending = PendingScoredIds(max_pending_rows)
        self._held: ScoredIdColumns | None = None  # taken, not yet recorded (kept across failures)
        self._index_lock = threading.Lock()  # one indexer at a time: the thread, flush() or close()
        self.rows_indexed = 0
        self.store_calls = 0
        self.store_failures = 0
        self.store_seconds = 0.0
        self.malformed_batches = 0
        self.rows_lost_at_close = 0
        self._telemetry: IndexTelemetry = telemetry or NoTelemetry()
        self._report_lock = threading.Lock()  # the thread's tick, flush() and close() report
        self._dropped_reported = 0
        self._writer = BackgroundWriter(
            "feedback-indexer",
            write=self._record,
            flush=self._record,
            idle_seconds=lambda: interval_seconds,
            backoff=Backoff(interval_seconds, retry_max_seconds),
            on_failure=self._log_failure,
            on_gave_up=self._log_unrecorded,
        ).start()

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
        self._record()
        return written

    def close(self) -> None:
        if not self._writer.stopping and not self._writer.stop(self._close_timeout):
            unrecorded = self.pending_rows
            logger.error(
                "feedback index: store still busy after %.0f s; %d scored ids not recorded",
                self._close_timeout,
                unrecorded,
            )
            self._lost_at_close(unrecorded)
        self.inner.close()

    def _record(self, primary: bool = True) -> bool:
        """Record what is pending (there is no fallback target: `primary` is always True). Drops and the
        pending rows are reported first, so a store call that fails or hangs does not hide them."""
        with self._index_lock:
            self._report_state()
            try:
                self._index_pending()
            finally:
                self._report_state()
        return True

    def _report_state(self) -> None:
        """Drops since the last report (counted by request threads, reported here) and the pending rows."""
        with self._report_lock:
            dropped = self._pending.rows_dropped
            if dropped > self._dropped_reported:
                self._telemetry.ids_dropped(dropped - self._dropped_reported, DROPPED_OVER_BOUND)
                self._dropped_reported = dropped
            self._telemetry.pending(self.pending_rows)

    def _lost_at_close(self, rows: int) -> None:
        """`rows` still unrecorded when the log closed: lost with the process, counted as dropped."""
        self._report_state()  # drops over the bound since the last tick
        if rows:
            self.rows_lost_at_close += rows
            self._telemetry.ids_dropped(rows, DROPPED_AT_CLOSE)
        self._telemetry.pending(0)  # closed: nothing waits any more (what did is counted above)

    def _log_failure(self, error: BaseException | None, failures: int, retry_in: float) -> None:
        logger.warning(
            "feedback index: recording scored ids failed (%s); %d pending, retry %d in %.2f s",
            error,
            self.pending_rows,
            failures,
            retry_in,
            # The first failure's traceback, unless it is an outage the message names (Redis down: 20 lines
            # of redis-py per API process said nothing more).
            exc_info=failures == 1 and not isinstance(error, ServiceUnavailableError),
        )

    def _log_unrecorded(self, error: BaseException, attempts: int) -> None:
        unrecorded = self.pending_rows
        logger.error(
            "feedback index: %d scored ids not recorded at close (%d attempts, last error: %s)",
            unrecorded,
            attempts,
            error,
        )
        self._lost_at_close(unrecorded)

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
                self._telemetry.store_failed()
                raise
            finally:
                self.store_seconds += time.perf_counter() - started
            self.rows_indexed += len(rows)
            self._telemetry.ids_recorded(len(rows))
            self._pending.release(self._held)
            self._held = None
