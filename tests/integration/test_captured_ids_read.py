"""A retrain reads only the labelled rows of its lookback (`read_ids`), filtered file by file.

Before, it read every captured row of the last 30 days into memory to pick out the labelled ones: at a
million scorings a day that is tens of gigabytes (benchmarks/retrain_memory.py measures it). The filtered
read must give exactly what the port's plain definition gives: the whole window, then the matching ids.
"""

from __future__ import annotations

import zlib
from dataclasses import fields
from datetime import UTC, datetime

import numpy as np
import pytest

from fraud_detection.domain.ports.drift import CapturedPredictions, CapturedRows
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow
from fraud_detection.infrastructure.local import LocalObjectStore

pytestmark = pytest.mark.integration

DAY = 86_400.0
T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()


def batch(
    request: str, rows: int, scored_at: float, ids: tuple[str | None, ...] | None = None
) -> PredictionBatch:
    rng = np.random.default_rng(zlib.crc32(request.encode()))
    return PredictionBatch(
        inputs=rng.normal(size=(rows, 29)),
        times=np.arange(rows, dtype=np.float64),
        transaction_ids=ids or tuple(f"{request}/{i}" for i in range(rows)),
        probabilities=rng.uniform(size=rows),
        decisions=rng.uniform(size=rows) < 0.1,
        model_name="fraud-lgbm",
        model_version=7,
        request_id=request,
        scored_at=scored_at,
    )


@pytest.fixture(scope="module")
def window(tmp_path_factory: pytest.TempPathFactory) -> PredictionLogWindow:
    """Three days of files, several per hour, ids repeated across files and some rows without one."""
    store = LocalObjectStore(tmp_path_factory.mktemp("captured") / "store")
    with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=50) as log:
        for day in range(3):
            for hour in (0, 7, 23):
                at = T0 + day * DAY + hour * 3600.0
                log.append(batch(f"d{day}h{hour}", 120, at))
        log.append(batch("retry", 2, T0 + 1.5 * DAY, ids=("d0h0/5", None)))  # an id scored twice
    return PredictionLogWindow(store)


def assert_same_rows(mine: CapturedRows, theirs: CapturedRows) -> None:
    for item in fields(CapturedRows):
        left, right = getattr(mine, item.name), getattr(theirs, item.name)
        if isinstance(left, np.ndarray):
            np.testing.assert_array_equal(left, right, err_msg=item.name)
        else:
            assert left == right, item.name


@pytest.mark.parametrize(
    ("since", "ids"),
    [
        (None, {"d0h0/5", "d1h7/0", "d2h23/119", "retry", "nobody"}),
        (datetime.fromtimestamp(T0 + 1.2 * DAY, UTC), {"d0h0/5", "d1h7/0", "d2h23/119"}),
        (None, set()),
        (None, {f"d{d}h{h}/{i}" for d in range(3) for h in (0, 7, 23) for i in range(0, 120, 7)}),
    ],
)
def test_the_filtered_read_gives_what_the_whole_window_filtered_gives(window, since, ids) -> None:
    filtered = window.read_ids(since, ids)
    plain = CapturedPredictions.read_ids(window, since, ids)  # the port's definition: read all, then pick
    assert_same_rows(filtered, plain)
    assert set(filtered.transaction_ids) <= ids
    assert np.all(filtered.scored_at[1:] >= filtered.scored_at[:-1])


def test_an_id_scored_twice_comes_back_twice_in_scoring_order(window) -> None:
    """The retrain keeps the first scoring of an id (BuildRetrainingSet); the read must not drop either."""
    rows = window.read_ids(None, ["d0h0/5"])
    assert rows.transaction_ids.tolist() == ["d0h0/5", "d0h0/5"]
    assert rows.scored_at[0] < rows.scored_at[1]
