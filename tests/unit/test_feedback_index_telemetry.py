"""What the feedback index reports for metrics: ids recorded, failed store calls, ids dropped (over the bound
and unrecorded at close) and ids pending. Before, failures and drops were log lines only: labels of those
transactions came back `unknown` with nothing on /metrics for an alert to see."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from prometheus_client import REGISTRY

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.local.feedback.indexing_log import (
    DROPPED_AT_CLOSE,
    DROPPED_OVER_BOUND,
    IndexingPredictionLog,
)
from fraud_detection.infrastructure.prometheus.metrics import (
    FEEDBACK_DROP_REASONS,
    PrometheusFeedbackIndexTelemetry,
)
from tests.fakes import FakePredictionLog
from tests.feedback_fakes import BlockingFeedbackStore, FakeFeedbackStore
from tests.waiting import wait_until

NEVER = 3600.0  # an interval no test waits for: the tests flush or close explicitly


def batch(*ids: str | None) -> PredictionBatch:
    n = len(ids)
    probabilities = np.linspace(0.1, 0.9, n)
    return PredictionBatch(
        inputs=np.zeros((n, 29)), times=np.arange(n, dtype=np.float64), transaction_ids=ids,
        probabilities=probabilities, decisions=probabilities >= 0.5, model_name="fraud-lgbm",
        model_version=2, request_id="r", scored_at=1_700_000_000.0,
    )  # fmt: skip


class RecordingTelemetry:
    def __init__(self) -> None:
        self.recorded = 0
        self.failures = 0
        self.dropped: dict[str, int] = {}
        self.pending_now: int | None = None
        self.calls: list[str] = []

    def ids_recorded(self, rows: int) -> None:
        self.recorded += rows
        self.calls.append("recorded")

    def store_failed(self) -> None:
        self.failures += 1
        self.calls.append("failed")

    def ids_dropped(self, rows: int, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + rows
        self.calls.append(f"dropped:{reason}")

    def pending(self, rows: int) -> None:
        self.pending_now = rows


class FailingStore(FakeFeedbackStore):
    """In memory; refuses the first `failures` calls (None: every call), and notes what the telemetry had
    been told when each call began."""

    def __init__(self, telemetry: RecordingTelemetry, failures: int | None = None) -> None:
        super().__init__()
        self.telemetry, self.failures = telemetry, failures
        self.seen_at_call: list[tuple[dict[str, int], int | None]] = []

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        self.seen_at_call.append((dict(self.telemetry.dropped), self.telemetry.pending_now))
        if self.failures is None or self.failures > 0:
            if self.failures is not None:
                self.failures -= 1
            raise ServiceUnavailableError("feedback store down")
        super().record_scored(rows)


def indexing_log(
    store: FakeFeedbackStore,
    telemetry: RecordingTelemetry,
    max_pending_rows: int = 100_000,
    retry_max_seconds: float = 30.0,
    close_timeout_seconds: float = 10.0,
) -> IndexingPredictionLog:
    """Ticks only when told (flush, close): no thread timing in the test."""
    return IndexingPredictionLog(
        FakePredictionLog(), store, interval_seconds=NEVER, max_pending_rows=max_pending_rows,
        retry_max_seconds=retry_max_seconds, close_timeout_seconds=close_timeout_seconds, telemetry=telemetry,
    )  # fmt: skip


def test_a_failing_store_reports_failures_drops_and_pending_before_its_call_then_the_recorded_ids():
    telemetry = RecordingTelemetry()
    store = FailingStore(telemetry, failures=2)
    log = indexing_log(store, telemetry, max_pending_rows=3)
    try:
        log.append(batch("a", "b", "c", "d", "e"))  # 2 over the bound: dropped on the request path
        assert (telemetry.calls, telemetry.pending_now) == (
            [],
            None,
        )  # append (the request path) reports nothing
        with pytest.raises(ServiceUnavailableError):
            log.flush()
        # The drop and the pending ids were reported before the store call that failed.
        assert store.seen_at_call[0] == ({DROPPED_OVER_BOUND: 2}, 3)
        assert telemetry.failures == 1
        assert (telemetry.dropped, telemetry.pending_now) == ({DROPPED_OVER_BOUND: 2}, 3)

        log.append(batch("f"))  # queued in the spare buffer while the failed three are held for the retry
        log.append(batch("g", "h", "i"))  # one more than that buffer holds
        with pytest.raises(ServiceUnavailableError):
            log.flush()
        assert store.seen_at_call[1] == ({DROPPED_OVER_BOUND: 3}, 6)  # the new drop, then the retry
        assert telemetry.failures == 2
        assert telemetry.dropped == {DROPPED_OVER_BOUND: 3} == {DROPPED_OVER_BOUND: log.rows_dropped}

        log.flush()  # the store answers: the held rows, then what was queued meanwhile
        assert telemetry.recorded == 6 == len(store.scored) == log.rows_indexed
        assert telemetry.pending_now == 0
        assert telemetry.dropped == {DROPPED_OVER_BOUND: 3}  # each drop reported once, however many ticks
        assert telemetry.calls.count("failed") == 2
    finally:
        log.close()
    assert DROPPED_AT_CLOSE not in telemetry.dropped  # nothing was left at close


def test_the_background_tick_reports_a_drop_even_while_every_store_call_fails():
    telemetry = RecordingTelemetry()
    store = FailingStore(telemetry)
    log = IndexingPredictionLog(
        FakePredictionLog(), store, interval_seconds=0.01, retry_max_seconds=0.02, max_pending_rows=2,
        close_timeout_seconds=0.05, telemetry=telemetry,
    )  # fmt: skip
    try:
        log.append(batch("a", "b", "c"))  # one over the bound
        # No flush: the thread's own ticks, each failing, report the drop and the pending ids.
        assert wait_until(lambda: telemetry.failures >= 2)
        assert telemetry.dropped == {DROPPED_OVER_BOUND: 1}
        assert telemetry.recorded == 0
        assert telemetry.pending_now == 2
    finally:
        log.close()


def test_ids_unrecorded_when_the_store_still_fails_at_close_are_counted_dropped():
    telemetry = RecordingTelemetry()
    store = FailingStore(telemetry)
    log = indexing_log(store, telemetry, retry_max_seconds=0.02, close_timeout_seconds=0.1)
    log.append(batch("a", None, "b"))
    log.close()  # retried until the deadline, then given up
    assert telemetry.dropped == {DROPPED_AT_CLOSE: 2}
    assert log.rows_lost_at_close == 2
    assert telemetry.failures >= 1
    assert telemetry.pending_now == 0  # nothing waits any more: what did is counted lost
    log.close()  # closing again counts nothing twice
    assert telemetry.dropped == {DROPPED_AT_CLOSE: 2}


def test_ids_left_behind_a_store_call_hanging_at_close_are_counted_dropped():
    telemetry = RecordingTelemetry()
    store = BlockingFeedbackStore()
    log = IndexingPredictionLog(
        FakePredictionLog(), store, interval_seconds=0.01, max_pending_rows=2, close_timeout_seconds=0.05,
        telemetry=telemetry,
    )  # fmt: skip
    try:
        log.append(batch("first"))
        assert store.entered.wait(10)  # the indexer is stuck inside the store call
        log.append(batch("x", "y", "z"))  # 2 queued, 1 over the bound
        log.close()  # gives up waiting for the thread
        assert telemetry.dropped == {DROPPED_OVER_BOUND: 1, DROPPED_AT_CLOSE: 3}  # "first" held, x and y
        assert log.rows_lost_at_close == 3
    finally:
        store.release.set()


def test_without_telemetry_the_index_reports_nowhere_and_works():
    store = FakeFeedbackStore()
    log = IndexingPredictionLog(FakePredictionLog(), store, interval_seconds=NEVER)
    log.append(batch("a"))
    log.flush()
    log.close()
    assert list(store.scored) == ["a"]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_prometheus_telemetry_exports_each_report():
    names = {
        "recorded": ("fraud_feedback_ids_recorded_total", {}),
        "failures": ("fraud_feedback_index_failures_total", {}),
        "over_bound": ("fraud_feedback_ids_dropped_total", {"reason": DROPPED_OVER_BOUND}),
        "at_close": ("fraud_feedback_ids_dropped_total", {"reason": DROPPED_AT_CLOSE}),
    }
    # Every drop series exists at 0 from import: the alert's increase() sees the first drop.
    assert set(FEEDBACK_DROP_REASONS) == {DROPPED_OVER_BOUND, DROPPED_AT_CLOSE}
    for reason in FEEDBACK_DROP_REASONS:
        assert REGISTRY.get_sample_value("fraud_feedback_ids_dropped_total", {"reason": reason}) is not None
    before = {key: sample(name, **labels) for key, (name, labels) in names.items()}
    telemetry = PrometheusFeedbackIndexTelemetry()

    telemetry.ids_recorded(5)
    telemetry.store_failed()
    telemetry.ids_dropped(3, DROPPED_OVER_BOUND)
    telemetry.ids_dropped(2, DROPPED_AT_CLOSE)
    telemetry.pending(7)

    after = {key: sample(name, **labels) - before[key] for key, (name, labels) in names.items()}
    assert after == {"recorded": 5, "failures": 1, "over_bound": 3, "at_close": 2}
    assert sample("fraud_feedback_ids_pending") == 7
    telemetry.pending(0)
    assert sample("fraud_feedback_ids_pending") == 0
