import numpy as np

from fraud_detection.domain.features import FEATURE_COLUMNS, FEATURE_VERSION, build_features
from tests.builders import transactions


def test_features_are_v_columns_and_log_amount_in_a_fixed_order():
    frame = transactions(10)
    features = build_features(frame)
    assert tuple(features.columns) == FEATURE_COLUMNS
    assert np.allclose(features["log_amount"], np.log1p(frame["Amount"]))
    assert FEATURE_VERSION == "fe-1"


def test_scoring_input_without_time_or_label_gives_the_same_features():
    frame = transactions(10)
    online = frame.drop(columns=["Time", "Class"])[list(reversed(frame.columns[1:-1]))]
    assert build_features(online).equals(build_features(frame))


def test_online_and_batch_paths_compute_identical_features():
    from fraud_detection.domain.features import SCORING_INPUTS, feature_matrix

    frame = transactions(50)
    online = feature_matrix(frame[list(SCORING_INPUTS)].to_numpy())
    np.testing.assert_array_equal(online, build_features(frame).to_numpy())
    inputs = frame[list(SCORING_INPUTS)].to_numpy()
    feature_matrix(inputs)
    assert np.array_equal(inputs, frame[list(SCORING_INPUTS)].to_numpy())  # the caller's array is untouched
