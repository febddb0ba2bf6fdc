"""The LightGBM trainer and model behind their ports, on real LightGBM."""

import numpy as np
import pytest

from fraud_detection.application.train import labelled
from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.features import FEATURE_COLUMNS
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.training import LabelledData, TrainingParams
from fraud_detection.infrastructure.lightgbm import LightGBMTrainer
from tests.builders import transactions

pytestmark = pytest.mark.integration


class Parts:
    """Time-ordered thirds of the builder's rows: fitted, evaluated (a fold's block), tested."""

    def __init__(self) -> None:
        frame = transactions(6_000, fraud_rate=0.03, seed=3).sort_values("Time", kind="stable")
        self.train: LabelledData = labelled(frame.iloc[:3_600])
        self.valid: LabelledData = labelled(frame.iloc[3_600:4_800])
        self.test: LabelledData = labelled(frame.iloc[4_800:])


@pytest.fixture(scope="module")
def data() -> Parts:
    return Parts()


@pytest.fixture(scope="module")
def fold(data):
    return LightGBMTrainer().fit_fold(
        data.train, data.valid, TrainingParams(learning_rate=0.3, max_rounds=300, early_stopping_rounds=20)
    )


@pytest.fixture(scope="module")
def model(data):
    return LightGBMTrainer().fit(data.train, TrainingParams(), rounds=60)


def test_a_fold_records_its_evaluation_log_loss_per_round_and_stops_on_it(fold, data):
    loss = fold.valid_loss
    assert 21 <= len(loss) < 300  # stopped 20 rounds after its best, before the cap
    best = int(np.argmin(loss)) + 1
    assert len(loss) == best + 20
    assert loss[best - 1] < loss[0]
    # the recorded loss is the binary log-loss of the fold's scores at that many rounds
    scores = np.clip(fold.scores(data.valid.features, best), 1e-15, 1 - 1e-15)
    y = data.valid.labels
    logloss = -np.mean(y * np.log(scores) + (1 - y) * np.log(1 - scores))
    assert logloss == pytest.approx(loss[best - 1], rel=1e-6)
    assert not np.array_equal(fold.scores(data.valid.features, 1), fold.scores(data.valid.features, best))


def test_the_refit_trains_exactly_the_rounds_asked_and_the_model_learns(model, data):
    assert model.best_iteration == 60
    assert model.booster.num_trees() == 60
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


def test_each_round_is_told_with_the_most_rounds_the_fit_may_take(data):
    told: list[tuple[int, int]] = []
    LightGBMTrainer().fit(data.train, TrainingParams(), rounds=12, on_round=lambda *r: told.append(r))
    assert told == [(done, 12) for done in range(1, 13)]
    told.clear()
    params = TrainingParams(learning_rate=0.3, max_rounds=300, early_stopping_rounds=20)
    fold = LightGBMTrainer().fit_fold(data.train, data.valid, params, on_round=lambda *r: told.append(r))
    assert told == [(done, 300) for done in range(1, len(fold.valid_loss) + 1)]  # until it stopped


def test_same_seed_same_model(data):
    first = LightGBMTrainer().fit(data.train, TrainingParams(), rounds=30)
    second = LightGBMTrainer().fit(data.train, TrainingParams(), rounds=30)
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


def test_serving_sized_calls_run_on_one_thread_large_ones_on_the_configured_threads(model, data, monkeypatch):
    """OpenMP's threads for a few rows cost more than they save, on busy cores many times more (model.py)."""
    from fraud_detection.infrastructure.lightgbm.model import PARALLEL_MIN_ROWS

    threads: list[int] = []
    predict = model.booster.predict

    def spy(matrix, **options):
        threads.append(options["num_threads"])
        return predict(matrix, **options)

    monkeypatch.setattr(model.booster, "predict", spy)
    small = data.test.features.to_numpy()[:32]
    large = np.resize(small, (PARALLEL_MIN_ROWS, small.shape[1]))
    model.predict_matrix(small), model.contributions_matrix(small)
    model.predict_matrix(large), model.contributions_matrix(large)
    assert threads == [1, 1, 2, 2]  # the trainer's default TrainingParams.threads
    np.testing.assert_array_equal(model.predict_matrix(small), predict(small, num_threads=2))
