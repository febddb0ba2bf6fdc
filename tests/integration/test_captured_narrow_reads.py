"""The narrow reads of captured rows, filtered file by file: a retrain's labelled rows (`read_ids`) and
rollout evidence's scores without inputs (`read_scores`).

Before, both read every column of every captured row of their window into memory (30 days for a retrain,
the rollout's days in the API's own process for `GET /admin/rollout`); benchmarks/captured_reads.py
measures both. Each narrow read must give exactly what the port's plain definition gives.
"""

from __future__ import annotations

import zlib
from dataclasses import fields, replace
from datetime import UTC, datetime

import numpy as np
import pytest

from fraud_detection.application.rollout.evidence import GatherEvidence
from fraud_detection.domain.errors import TooManyCapturedRowsError
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.ports.drift import (
    NO_TRANSACTION_KEY,
    CapturedPredictions,
    CapturedRows,
    transaction_keys,
)
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.domain.rollout import Rollout
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow
from fraud_detection.infrastructure.local import LocalObjectStore
from tests.feedback_fakes import FakeFeedbackStore

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


def test_the_scores_read_holds_keys_and_shared_names_not_strings_per_row(window) -> None:
    """What keeps `GET /admin/rollout` inside an API task over a week of traffic: no id string is held (an
    8-byte key each) and every row's model name is the same string object (one reference each)."""
    scores = window.read_scores(None, None)
    plain = window.read(None, None, None)
    assert scores.transaction_ids is None
    assert scores.transaction_keys is not None
    assert scores.transaction_keys.dtype == np.int64
    np.testing.assert_array_equal(scores.transaction_keys, transaction_keys(plain.transaction_ids))
    assert (scores.transaction_keys == NO_TRANSACTION_KEY).sum() == 1  # the retry's row without an id
    assert len({id(name) for name in scores.model_names}) == 1


def test_files_listed_out_of_scoring_order_are_read_in_scoring_order(tmp_path) -> None:
    """Two writers' files of one hour interleave (each is named for its first row): the rows come back
    sorted by `scored_at`, rows of one instant in file order, as the plain read sorts them."""
    store = LocalObjectStore(tmp_path / "store")
    with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=10) as log:
        log.append(batch("a-early", 3, T0 + 60.0))
        log.append(batch("a-late", 3, T0 + 900.0))
    with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=10) as log:
        log.append(batch("b-middle", 3, T0 + 300.0))
        log.append(batch("b-late", 2, T0 + 900.0))
    reader = PredictionLogWindow(store)
    scores = reader.read_scores(None, None)
    assert_same_rows(scores, CapturedPredictions.read_scores(reader, None, None))
    firsts = transaction_keys(["a-early/0", "b-middle/0", "a-late/0", "b-late/0"])
    assert [scores.transaction_keys.tolist().index(key) for key in firsts] == [0, 3, 6, 9]


class PlainReads(CapturedPredictions):
    """The port's own definitions over the same files: what the adapter's reads must equal."""

    def __init__(self, inner: CapturedPredictions) -> None:
        self._inner = inner

    def read(self, since: datetime | None, until: datetime | None, last_rows: int | None) -> CapturedRows:
        return self._inner.read(since, until, last_rows)


def test_rollout_evidence_over_the_files_is_the_evidence_of_the_plain_reads(tmp_path) -> None:
    """GatherEvidence pairs and labels by key: the adapter's keys must meet the labels' keys (made from
    the feedback store's id strings) exactly as the plain reads' do."""
    store = LocalObjectStore(tmp_path / "store")
    ids = tuple(f"acme:t{i}" for i in range(60))
    rng = np.random.default_rng(3)
    with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=25) as served:
        for hour in range(4):
            part = (*ids[hour * 15 : (hour + 1) * 15 - 1], None)
            served.append(replace(batch(f"s{hour}", 15, T0 + hour * 3600.0, part), model_version=1))
        served.append(replace(batch("retry", 1, T0 + 4 * 3600.0, (ids[0],)), model_version=1))
    with ParquetPredictionLog(store, prefix="shadow", max_seconds=3600.0, max_rows=25) as shadow:
        for hour in range(4):
            part = ids[hour * 15 : (hour + 1) * 15]
            probabilities = rng.uniform(size=15)
            probabilities[2] = np.nan  # a shadow scoring that failed
            scored = batch(f"h{hour}", 15, T0 + hour * 3600.0 + 1.0, part)
            shadow.append(replace(scored, model_version=2, probabilities=probabilities))
    feedback = FakeFeedbackStore()
    for n, tid in enumerate(ids[::3]):
        at = datetime.fromtimestamp(T0 + n, UTC)
        feedback.record_scored([ScoredTransaction(tid, 1, 0.5, False, at)])
        feedback.add_label(tid, n % 4 == 0, at)
    rollout = replace(Rollout.start("fraud-lgbm", 2, 1, T0 - 1.0), stage_since=T0 + 3600.0)
    files = PredictionLogWindow(store), PredictionLogWindow(store, "shadow")

    mine = GatherEvidence(*files, feedback)(rollout, T0 + DAY)
    theirs = GatherEvidence(*(PlainReads(reads) for reads in files), feedback)(rollout, T0 + DAY)

    assert mine == theirs
    assert mine.labels.labelled > 10
    assert mine.labels.frauds > 2
    assert mine.paired_rows > 30
    assert mine.challenger.errors == 3


def test_a_scores_read_past_its_row_limit_stops_at_the_file_that_passes_it(tmp_path, monkeypatch) -> None:
    """What bounds `GET /admin/rollout`'s memory (FRAUD_ROLLOUT_STATUS_MAX_ROWS): ten hours of 30 rows
    each; a limit of 45 is passed by the second file, and no third file is read."""
    store = LocalObjectStore(tmp_path / "store")
    with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=30) as log:
        for hour in range(10):
            log.append(batch(f"h{hour}", 30, T0 + hour * 3600.0))
    reader = PredictionLogWindow(store)
    read: list[str] = []
    plain_read = store.read_or_none

    def counted(key: str) -> bytes | None:
        read.append(key)
        return plain_read(key)

    monkeypatch.setattr(store, "read_or_none", counted)

    assert len(reader.read_scores(None, None, max_rows=300)) == 300  # the limit itself is allowed
    assert len(read) == 10
    read.clear()
    with pytest.raises(TooManyCapturedRowsError, match="more than 45 captured rows"):
        reader.read_scores(None, None, max_rows=45)
    assert len(read) == 2


def test_a_bounded_gathering_over_files_names_the_whole_limit(window) -> None:
    """Served rows within the limit, the shadow read past what is left of it."""
    rows = len(window.read_scores(None, None))
    rollout = Rollout.start("fraud-lgbm", 8, 7, T0 - 1.0)
    limited = GatherEvidence(window, window, FakeFeedbackStore(), max_rows=rows + rows // 2)

    with pytest.raises(TooManyCapturedRowsError) as raised:
        limited(rollout, T0 + 9 * DAY)
    assert raised.value.limit == rows + rows // 2
    assert GatherEvidence(window, window, FakeFeedbackStore(), max_rows=2 * rows)(rollout, T0 + 9 * DAY)
