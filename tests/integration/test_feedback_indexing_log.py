"""IndexingPredictionLog around the real ParquetPredictionLog (local folder) and a real SQLite feedback store:
every row is captured, ids are recorded off the request path, a failing or hanging store never blocks."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.feedback import LabelInput, LabelOutcome, ScoredTransaction, TimeWindow
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.local.feedback.indexing_log import IndexingPredictionLog
from fraud_detection.infrastructure.sqlite.feedback_store import SqliteFeedbackStore
from tests.feedback_fakes import BlockingFeedbackStore, FakeFeedbackStore

pytestmark = pytest.mark.integration

NOW = time.time()
NEVER = 3600.0  # an interval no test waits for: the tests flush explicitly


def batch(ids: tuple[str | None, ...], request_id: str = "r", version: int = 2) -> PredictionBatch:
    n = len(ids)
    rng = np.random.default_rng(n)
    probabilities = rng.uniform(size=n)
    return PredictionBatch(
        inputs=rng.normal(size=(n, 29)), times=np.arange(n, dtype=np.float64), transaction_ids=ids,
        probabilities=probabilities, decisions=probabilities >= 0.5, model_name="fraud-lgbm",
        model_version=version, request_id=request_id, scored_at=NOW,
    )  # fmt: skip


@pytest.fixture
def parts(tmp_path):
    objects = LocalObjectStore(tmp_path / "store")
    store = SqliteFeedbackStore(tmp_path / "feedback.db")
    inner = ParquetPredictionLog(objects, max_rows=1_000, max_seconds=NEVER)
    log = IndexingPredictionLog(inner, store, interval_seconds=NEVER)
    yield objects, store, log
    log.close()


def test_every_row_is_captured_and_only_rows_with_an_id_are_indexed(parts):
    objects, store, log = parts
    log.append(batch(("tx-1",), request_id="single"))
    log.append(batch((None,), request_id="anonymous"))
    log.append(batch(("tx-2", None, "tx-3"), request_id="batch"))
    assert log.flush() == 5
    captured = read_predictions(objects).frame
    assert len(captured) == 5
    assert sorted(captured["transaction_id"].dropna()) == ["tx-1", "tx-2", "tx-3"]
    assert log.rows_indexed == 3
    outcomes = store.add_labels(
        [LabelInput(i, True) for i in ("tx-1", "tx-2", "tx-3", "nobody")], datetime.now(UTC)
    )
    assert outcomes == [LabelOutcome.NEW] * 3 + [LabelOutcome.UNKNOWN]
    joined = {r.transaction_id: r.scored for r in store.labels()}
    row = captured.set_index("transaction_id").loc["tx-3"]
    assert joined["tx-3"].probability == row["probability"]
    assert joined["tx-3"].decision == bool(row["decision"])
    assert joined["tx-3"].model_version == 2
    assert abs(joined["tx-3"].scored_at.timestamp() - NOW) < 1e-3


def test_the_background_thread_records_without_a_flush(tmp_path):
    store = FakeFeedbackStore()
    inner = ParquetPredictionLog(LocalObjectStore(tmp_path), max_seconds=NEVER)
    log = IndexingPredictionLog(inner, store, interval_seconds=0.05)
    try:
        log.append(batch(("late-1", "late-2")))
        deadline = time.monotonic() + 10
        while len(store.scored) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(store.scored) == ["late-1", "late-2"]
    finally:
        log.close()


def test_appends_never_wait_for_the_store(tmp_path):
    store = BlockingFeedbackStore()
    inner = ParquetPredictionLog(LocalObjectStore(tmp_path), max_seconds=NEVER)
    log = IndexingPredictionLog(inner, store, interval_seconds=0.01, max_pending_rows=50)
    try:
        log.append(batch(("first",)))
        assert store.entered.wait(10)  # the indexer is now stuck inside the store call
        for i in range(100):  # would deadlock here if append waited for the store
            log.append(batch((f"during-{i}",)))
        assert log.rows_dropped == 50  # beyond the bound, dropped and counted rather than queued
        assert inner.pending_rows == 101  # capture kept every row
    finally:
        store.release.set()
        log.close()
    assert len(store.scored) == 51  # "first", then the 50 kept while it was stuck, recorded at close


class FailingStore(FakeFeedbackStore):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        if self.failures:
            self.failures -= 1
            raise ServiceUnavailableError("feedback store down")
        super().record_scored(rows)


def test_a_failing_store_keeps_the_rows_for_the_next_attempt(tmp_path, caplog):
    store = FailingStore(failures=2)
    inner = ParquetPredictionLog(LocalObjectStore(tmp_path), max_seconds=NEVER)
    log = IndexingPredictionLog(inner, store, interval_seconds=NEVER)
    try:
        log.append(batch(("a", "b")))
        with pytest.raises(ServiceUnavailableError):
            log.flush()
        log.append(batch(("c",)))
        with pytest.raises(ServiceUnavailableError):
            log.flush()
        assert log.pending_rows == 3
        log.flush()
        assert sorted(store.scored) == ["a", "b", "c"]
        assert (log.store_failures, log.pending_rows, log.rows_dropped) == (2, 0, 0)
    finally:
        log.close()


def test_close_records_what_is_pending_and_closes_the_capture(parts):
    objects, store, log = parts
    log.append(batch(("at-close",)))
    log.close()
    assert len(read_predictions(objects).frame) == 1
    window = TimeWindow(datetime.fromtimestamp(NOW, UTC) - timedelta(seconds=1), datetime.now(UTC))
    assert store.add_label("at-close", False, datetime.now(UTC)) is LabelOutcome.NEW
    assert [r.transaction_id for r in store.labelled_in(window)] == ["at-close"]


def test_a_malformed_batch_is_left_to_the_capture_log_and_does_not_raise(parts):
    _, _, log = parts
    broken = batch(("x", "y"))
    object.__setattr__(broken, "probabilities", np.array([0.5]))
    log.append(broken)  # the capture log drops and logs it; indexing skips it
    assert log.malformed_batches == 1
    assert log.flush() == 0


def test_the_container_wraps_the_capture_with_an_index_reporting_to_prometheus(tmp_path):
    from fraud_detection.composition import Container
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusFeedbackIndexTelemetry
    from fraud_detection.settings import Settings

    log = Container(Settings(home=tmp_path)).serving.indexed_prediction_log()
    try:
        assert isinstance(log, IndexingPredictionLog)
        assert isinstance(log._telemetry, PrometheusFeedbackIndexTelemetry)
    finally:
        log.close()


class BrokenStore(FakeFeedbackStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "traceback"),
    [(ServiceUnavailableError("feedback store (Redis): Connection refused"), False), (KeyError("bug"), True)],
)
def test_an_outage_is_logged_in_one_line_and_anything_else_with_its_traceback(
    tmp_path, caplog, error, traceback
):
    """A probe: Redis down put ~20 lines of redis-py traceback per API process into the log at WARNING."""
    caplog.set_level(logging.WARNING)
    inner = ParquetPredictionLog(LocalObjectStore(tmp_path), max_seconds=NEVER)
    log = IndexingPredictionLog(inner, BrokenStore(error), interval_seconds=0.01)
    try:
        log.append(batch(("a",)))
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        log.close()
    first = caplog.records[0]
    assert "feedback index: recording scored ids failed" in first.getMessage()
    assert bool(first.exc_info) is traceback
