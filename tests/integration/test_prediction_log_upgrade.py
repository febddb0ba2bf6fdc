"""Captures written before `model_ms` existed are still read after an upgrade, with the time as NaN.

An upgrade used to be a schema change the reader rejected ("another schema"): every hour captured before it
would drop out of drift checks and rollout evidence, and a journal chunk or spilled file left by the old
version would be lost or set aside. Each test writes the old layout (the current file without `model_ms`)
where the old version left it: the store, the spill folder, a dead process's journal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow
from fraud_detection.infrastructure.local import LocalObjectStore
from tests.prediction_batches import scored_batch, spilled_files
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
NEVER = 3600.0
LEGACY_KEY = "predictions/date=2026-03-04/hour=05/20260304T050000-1-000000-deadbeef.parquet"


def legacy_parquet(tmp_path: Path, request_id: str, rows: int) -> bytes:
    """A file as the previous version wrote it: today's columns but `model_ms`."""
    scratch = LocalObjectStore(tmp_path / "scratch")
    with ParquetPredictionLog(scratch, max_seconds=NEVER) as log:
        log.append(scored_batch(request_id, rows, T0 - 60))
    [key] = list(scratch.list_keys("predictions/"))
    table = pq.read_table(pa.BufferReader(scratch.read_bytes(key))).drop_columns(["model_ms"])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def test_a_legacy_file_in_the_store_is_read_with_its_model_time_unmeasured(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    store.write_bytes(LEGACY_KEY, legacy_parquet(tmp_path, "old", rows=3))
    with ParquetPredictionLog(store, max_seconds=NEVER) as log:
        log.append(scored_batch("new", rows=2, scored_at=T0, model_ms=0.125))

    logged = read_predictions(store)
    assert logged.skipped == ()
    assert logged.frame["request_id"].tolist() == ["old"] * 3 + ["new"] * 2
    window = PredictionLogWindow(store).read(None, None, None)
    assert window.model_ms is not None
    assert np.isnan(window.model_ms[:3]).all()
    assert window.model_ms[3:].tolist() == [0.125, 0.125]


def test_a_legacy_file_left_in_the_spill_is_sent_not_set_aside(tmp_path: Path) -> None:
    store, spill = LocalObjectStore(tmp_path / "store"), tmp_path / "spill"
    spilled = spill / LEGACY_KEY
    spilled.parent.mkdir(parents=True)
    spilled.write_bytes(legacy_parquet(tmp_path, "spilled-before-upgrade", rows=4))

    log = ParquetPredictionLog(store, max_seconds=NEVER, spill_dir=spill)
    try:
        assert wait_until(lambda: not spilled.exists())
    finally:
        log.close()
    assert not list(spill.rglob("*.rejected"))
    assert read_predictions(store).frame["request_id"].tolist() == ["spilled-before-upgrade"] * 4


def test_a_legacy_journal_chunk_of_a_dead_process_is_recovered(tmp_path: Path) -> None:
    store, spill = LocalObjectStore(tmp_path / "store"), tmp_path / "spill"
    orphan = spill / "journal" / "12345-deadbeef"  # its process is gone: the lock file is not held
    orphan.mkdir(parents=True)
    (orphan / "owner.lock").touch()
    (orphan / "000000000-000000.parquet").write_bytes(legacy_parquet(tmp_path, "journaled", rows=5))

    log = ParquetPredictionLog(store, max_seconds=NEVER, spill_dir=spill)
    try:
        assert wait_until(lambda: log.rows_recovered == 5 and not orphan.exists())
        assert wait_until(lambda: not spilled_files(spill))
    finally:
        log.close()
    frame = read_predictions(store).frame
    assert frame["request_id"].tolist() == ["journaled"] * 5
    assert frame["model_ms"].isna().all()
