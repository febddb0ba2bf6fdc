import pytest

from fraud_detection.domain.errors import InsufficientDataError
from fraud_detection.domain.split import SplitPolicy, time_ordered_split
from tests.builders import transactions


def test_parts_are_in_time_order_with_a_gap():
    frame = transactions(5_000).sample(frac=1.0, random_state=1)  # shuffled input
    split = time_ordered_split(frame, SplitPolicy(0.6, 0.2, gap_seconds=600))
    assert split.train["Time"].max() + 600 <= split.valid["Time"].min()
    assert split.valid["Time"].max() + 600 <= split.test["Time"].min()
    assert len(split.train) == 3_000
    assert 900 < len(split.valid) <= 1_000
    assert 900 < len(split.test) <= 1_000
    assert split.describe()["train_rows"] == 3_000


def test_no_gap_keeps_every_row():
    frame = transactions(1_000)
    split = time_ordered_split(frame, SplitPolicy(0.5, 0.25, gap_seconds=0))
    assert sum(len(p) for _, p in split.parts()) == 1_000


def test_a_split_without_frauds_is_an_input_error():
    frame = transactions(1_000, fraud_rate=0.002)
    frame.loc[:, "Class"] = 0.0
    frame.loc[10, "Class"] = 1.0  # one fraud, in the training period only
    with pytest.raises(InsufficientDataError, match="valid split"):
        time_ordered_split(frame, SplitPolicy())


@pytest.mark.parametrize(("train", "valid"), [(0.8, 0.2), (0.0, 0.5), (0.5, 0.0)])
def test_fractions_must_leave_room_for_every_part(train, valid):
    with pytest.raises(ValueError, match="fractions"):
        SplitPolicy(train, valid)
