"""Dataset references, user-facing error texts, domain events and the feature transformation, to the exact
value: these shapes are written to JSON, shown to users or fed to the model."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.dataset import DatasetId, DatasetRef, count_frauds
from fraud_detection.domain.errors import InvalidDataError, ValidationFailedError
from fraud_detection.domain.events import DriftDetected, ModelRegistered
from fraud_detection.domain.features import FEATURE_COLUMNS, SCORING_INPUTS, build_features, feature_matrix
from tests.builders import transactions

REF = DatasetRef(
    id=DatasetId("ab" * 32),
    uri="memory://datasets/abab.parquet",
    rows=4_000,
    frauds=120,
    source="good.csv",
    created_at="2026-05-01T12:00:00+00:00",
)


def test_dataset_ref_dict_has_the_stored_keys_and_round_trips():
    """The dataset store writes this dict as JSON and reads it back: keys and values must survive."""
    data = REF.to_dict()
    assert data == {
        "id": "ab" * 32,
        "uri": "memory://datasets/abab.parquet",
        "rows": 4_000,
        "frauds": 120,
        "source": "good.csv",
        "created_at": "2026-05-01T12:00:00+00:00",
    }
    assert DatasetRef.from_dict(data) == REF


def test_dataset_ref_from_dict_parses_counts_held_as_text():
    """Metadata stores that keep every value as text (object tags) still give integer counts."""
    ref = DatasetRef.from_dict({key: str(value) for key, value in REF.to_dict().items()})
    assert ref == REF
    assert (type(ref.rows), type(ref.frauds), type(ref.id)) == (int, int, DatasetId)
    assert ref.fraud_rate == pytest.approx(0.03)


def test_count_frauds_is_the_number_of_positive_labels():
    frame = transactions(200, fraud_rate=0.05)
    assert count_frauds(frame) == 10
    assert type(count_frauds(frame)) is int


@pytest.mark.parametrize(
    ("column", "row", "message"),
    [
        (None, None, "f.csv: no rows"),
        ("V1", None, "f.csv: column 'V1': no rows"),
        (None, 0, "f.csv: row 1: no rows"),
        ("V1", 4, "f.csv: column 'V1' row 5: no rows"),
    ],
)
def test_invalid_data_error_names_only_what_it_knows(column, row, message):
    """Rows are shown 1-based; a missing column or row leaves no empty `column 'None'` in the text."""
    error = InvalidDataError("f.csv", "no rows", column=column, row=row)
    assert str(error) == message
    assert (error.source, error.problem, error.column, error.row) == ("f.csv", "no rows", column, row)


def test_validation_failed_error_keeps_the_report_uri():
    error = ValidationFailedError("2 expectations failed", report_uri="memory://reports/x.html")
    assert (str(error), error.report_uri) == ("2 expectations failed", "memory://reports/x.html")
    assert ValidationFailedError("failed").report_uri is None


def test_events_are_stamped_in_utc_and_carry_their_fields():
    event = ModelRegistered("fraud-detector", 3)
    moment = datetime.fromisoformat(event.occurred_at)
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)
    assert event.payload() == {"model_name": "fraud-detector", "version": 3, "occurred_at": event.occurred_at}
    drift = DriftDetected("m", 2, ("score_distribution",), 500, "memory://r.json", "psi", occurred_at="t0")
    assert drift.payload() == {
        "model_name": "m",
        "version": 2,
        "evidence": ("score_distribution",),
        "window_rows": 500,
        "report": "memory://r.json",
        "reason": "psi",
        "occurred_at": "t0",
    }
    assert (ModelRegistered.kind, DriftDetected.kind) == ("ModelRegistered", "DriftDetected")


def test_feature_matrix_takes_one_row_of_integers():
    """Online scoring may pass a single request as a flat list of whole numbers: still one float row."""
    row = [*range(28), 1]
    matrix = feature_matrix(np.array(row))
    assert SCORING_INPUTS[-1] == "Amount"  # the column the transformation logs
    assert matrix.shape == (1, len(FEATURE_COLUMNS))
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix[0, :28], np.arange(28.0))
    assert matrix[0, 28] == np.log1p(1.0)


def test_build_features_keeps_the_callers_index():
    """Batch scoring joins scores back to rows by index."""
    frame = transactions(4)
    frame.index = pd.Index([40, 10, 30, 20])
    features = build_features(frame)
    assert list(features.index) == [40, 10, 30, 20]
    assert features.loc[10, "log_amount"] == np.log1p(frame.loc[10, "Amount"])


def test_build_features_reads_nullable_columns_like_floats():
    """Arrow-backed readers give nullable Float64 columns; a missing value becomes NaN, not a crash."""
    frame = transactions(3)
    nullable = frame.astype("Float64")
    nullable.loc[1, "V3"] = pd.NA
    features = build_features(nullable)
    assert np.isnan(features.loc[1, "V3"])
    expected = build_features(frame)
    expected.loc[1, "V3"] = np.nan
    pd.testing.assert_frame_equal(features, expected)


def test_build_features_holds_one_copy_of_the_values_at_a_time():
    """It made three (to_numpy, feature_matrix's copy, the frame's own): twice the features' size at once,
    ~600 MiB on 1.4M rows. Counted with tracemalloc, which sees numpy's allocations."""
    import tracemalloc

    frame = transactions(20_000)
    size = len(frame) * len(FEATURE_COLUMNS) * 8
    tracemalloc.start()
    try:
        features = build_features(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.3 * size
    np.testing.assert_array_equal(
        features.to_numpy(), feature_matrix(frame.loc[:, list(SCORING_INPUTS)].to_numpy())
    )
