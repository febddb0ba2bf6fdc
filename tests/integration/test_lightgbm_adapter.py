"""The LightGBM trainer and model behind their ports, on real LightGBM."""

import numpy as np
import pytest

from fraud_detection.application.train import FeatureSplit
from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.features import FEATURE_COLUMNS
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.split import SplitPolicy, time_ordered_split
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.lightgbm import LightGBMTrainer
from tests.builders import transactions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data() -> FeatureSplit:
    return FeatureSplit.of(time_ordered_split(transactions(6_000, fraud_rate=0.03, seed=3), SplitPolicy()))


@pytest.fixture(scope="module")
def model(data):
    return LightGBMTrainer().fit(
        data.train, data.valid, TrainingParams(max_rounds=300, early_stopping_rounds=20)
    )


def test_early_stopping_bounds_the_rounds_and_the_model_learns(model, data):
    assert 1 <= model.best_iteration < 300
    scores = model.predict_proba(data.test.features)
    assert scores.shape == (len(data.test),)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert average_precision(data.test.labels, scores) > 0.5  # V14 separates frauds in the builder's data
    assert model.feature_names == FEATURE_COLUMNS


def test_contributions_add_up_to_the_raw_score(model, data):
    rows = data.test.features.head(50)
    contributions = model.contributions(rows)
    assert contributions.shape == (50, len(FEATURE_COLUMNS) + 1)
    logits = contributions.sum(axis=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), model.predict_proba(rows), rtol=1e-9)


def test_importance_names_every_feature_and_favours_v14(model):
    importance = model.feature_importance()
    assert set(importance) == set(FEATURE_COLUMNS)
    assert max(importance, key=importance.__getitem__) == "V14"


def test_columns_in_another_order_are_refused(model, data):
    with pytest.raises(IncompatibleModelError, match="expects features"):
        model.predict_proba(data.test.features[list(reversed(FEATURE_COLUMNS))])


def test_same_seed_same_model(data):
    params = TrainingParams(max_rounds=50, early_stopping_rounds=10)
    first = LightGBMTrainer().fit(data.train, data.valid, params)
    second = LightGBMTrainer().fit(data.train, data.valid, params)
    np.testing.assert_array_equal(
        first.predict_proba(data.test.features), second.predict_proba(data.test.features)
    )


def test_single_row_fast_path_matches_the_batch_predict_exactly(model, data):
    matrix = data.test.features.to_numpy()[:300]
    expected = model.predict_matrix(matrix)
    got = np.array([model.predict_row(row) for row in matrix])
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(IncompatibleModelError, match="one row of 29 features"):
        model.predict_row(matrix[0][:5])


def test_fast_path_survives_a_text_round_trip(model, data):
    from fraud_detection.infrastructure.lightgbm import LightGBMFraudModel

    copy = LightGBMFraudModel.from_text(model.to_text())
    row = data.test.features.to_numpy()[7]
    assert copy.predict_row(row) == model.predict_row(row)
