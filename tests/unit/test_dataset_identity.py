from fraud_detection.domain.dataset import DatasetId
from tests.builders import transactions


def test_same_values_same_id_whatever_the_dtype():
    frame = transactions(100)
    as_ints = frame.copy()
    as_ints["Class"] = as_ints["Class"].astype(int)
    as_ints["Time"] = as_ints["Time"].astype(int)
    assert DatasetId.of(frame) == DatasetId.of(as_ints)


def test_any_change_changes_the_id():
    frame = transactions(100)
    changed = frame.copy()
    changed.loc[3, "V5"] += 1e-9
    assert DatasetId.of(frame) != DatasetId.of(changed)
    assert len(DatasetId.of(frame).value) == 64
    assert DatasetId.of(frame).short == DatasetId.of(frame).value[:12]
