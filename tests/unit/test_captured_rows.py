"""CapturedRows.take, the id keys, and the port's plain `read_ids` and `read_scores` (what an adapter's
narrow reads must equal)."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_detection.domain.errors import TooManyCapturedRowsError
from fraud_detection.domain.ports.drift import NO_TRANSACTION_KEY, CapturedRows, transaction_keys
from tests.drift_fakes import FakeCapturedPredictions, captured


def test_take_keeps_every_column_aligned() -> None:
    rows = CapturedRows(
        inputs=np.arange(12.0).reshape(4, 3), probabilities=np.array([0.1, 0.2, 0.3, 0.4]),
        decisions=np.array([False, True, False, True]), model_names=np.array(["m"] * 4),
        model_versions=np.array([1, 2, 3, 4]), scored_at=np.arange(4).astype("datetime64[us]"),
        skipped_files=("bad.parquet",), transaction_ids=np.array(["a", None, "c", "d"], dtype=object),
        times=np.array([5.0, 6.0, 7.0, 8.0]), model_ms=None,
    )  # fmt: skip
    picked = rows.take(np.array([3, 1]))
    assert picked.inputs.tolist() == [[9.0, 10.0, 11.0], [3.0, 4.0, 5.0]]
    assert picked.model_versions.tolist() == [4, 2]
    assert picked.transaction_ids.tolist() == ["d", None]
    assert (picked.skipped_files, picked.model_ms) == (("bad.parquet",), None)


def test_the_plain_read_ids_picks_the_ids_from_the_whole_window_in_order() -> None:
    fake = FakeCapturedPredictions()
    rows = captured(np.arange(5.0)[:, None] * np.ones((5, 29)), np.linspace(0.1, 0.5, 5))
    fake.rows = type(rows)(
        **{**rows.__dict__, "transaction_ids": np.array(["a", None, "b", "a", "c"], object)}
    )
    picked = fake.read_ids(None, {"a", "c", "zz"})
    assert picked.transaction_ids.tolist() == ["a", "a", "c"]
    assert picked.probabilities.tolist() == [0.1, 0.4, 0.5]
    assert fake.requests == [(None, None, None)]
    fake.rows = rows  # no ids captured at all: nothing matches
    assert len(fake.read_ids(None, {"a"})) == 0


def test_the_plain_read_scores_drops_the_inputs_and_times_and_keeps_the_ids_as_keys() -> None:
    fake = FakeCapturedPredictions()
    rows = captured(np.ones((3, 29)), np.array([0.1, 0.2, 0.3]))
    fake.rows = type(rows)(**{**rows.__dict__, "transaction_ids": np.array(["a", None, "a"], object)})
    scores = fake.read_scores(None, None)
    assert scores.inputs.shape == (3, 0)
    assert (scores.times, scores.transaction_ids) == (None, None)
    assert scores.transaction_keys.tolist() == [hash("a"), NO_TRANSACTION_KEY, hash("a")]
    assert scores.probabilities.tolist() == [0.1, 0.2, 0.3]
    assert scores.model_versions.tolist() == rows.model_versions.tolist()
    assert fake.requests == [(None, None, None)]


def test_id_keys_are_the_keys_read_or_made_from_the_ids() -> None:
    rows = captured(np.ones((3, 29)), np.array([0.1, 0.2, 0.3]))
    assert rows.transaction_ids is None  # nothing captured: no row has an id
    assert rows.id_keys().tolist() == [NO_TRANSACTION_KEY] * 3
    with_ids = type(rows)(**{**rows.__dict__, "transaction_ids": np.array(["x", "y", None], object)})
    assert with_ids.id_keys().tolist() == transaction_keys(["x", "y", None]).tolist()
    assert len(set(with_ids.id_keys().tolist())) == 3
    keyed = type(rows)(**{**rows.__dict__, "transaction_keys": np.array([7, 8, 9])})
    assert keyed.id_keys().tolist() == [7, 8, 9]
    assert keyed.take(np.array([2, 0])).id_keys().tolist() == [9, 7]


def test_the_plain_read_scores_refuses_a_window_beyond_its_row_limit() -> None:
    fake = FakeCapturedPredictions()
    fake.rows = captured(np.ones((3, 29)), np.array([0.1, 0.2, 0.3]))

    assert len(fake.read_scores(None, None, max_rows=3)) == 3  # the limit itself is allowed
    with pytest.raises(TooManyCapturedRowsError, match="more than 2 captured rows") as raised:
        fake.read_scores(None, None, max_rows=2)
    assert raised.value.limit == 2
