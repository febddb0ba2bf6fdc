"""The narrow reads of captured rows, filtered file by file: a retrain's labelled rows (`read_ids`) and
rollout evidence's scores without inputs (`read_scores`).

Before, both read every column of every captured row of their window into memory (30 days for a retrain,
the rollout's days in the API's own process for `GET /admin/rollout`); benchmarks/captured_reads.py
measures both. Each narrow read must give exactly what the port's plain definition gives.
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


@pytest.mark.parametrize(
    ("since", "until"),
    [(None, None), (T0 + 0.5 * DAY, T0 + 2.1 * DAY), (T0 + 9 * DAY, None)],
)
def test_the_scores_read_gives_the_whole_window_without_inputs(window, since, until) -> None:
    bounds = [None if moment is None else datetime.fromtimestamp(moment, UTC) for moment in (since, until)]
    scores = window.read_scores(*bounds)
    plain = CapturedPredictions.read_scores(window, *bounds)  # read all, then drop the inputs
    assert_same_rows(scores, plain)
    assert scores.inputs.shape == (len(scores), 0)
    assert scores.times is None
    assert len(scores) == len(window.read(*bounds, None))
