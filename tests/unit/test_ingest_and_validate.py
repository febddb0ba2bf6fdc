import json

import pytest

from fraud_detection.application.ingest import IngestDataset
from fraud_detection.application.validate import ValidateDataset
from fraud_detection.domain.errors import DataSourceError, InvalidDataError, ValidationFailedError
from fraud_detection.infrastructure.documents.reports import ObjectStoreReports
from tests.fakes import FakeDatasetStore, FakeObjectStore, FakeSource, FakeValidator


def test_ingest_stores_content_addressed_and_is_idempotent(world):
    ingest = IngestDataset(world.source, world.datasets)
    first, second = ingest("good.csv"), ingest("good.csv")
    assert first == second
    assert first.rows == 4_000
    assert first.frauds == int(world.frame["Class"].sum())
    assert len(world.datasets.list()) == 1


def test_ingest_warns_of_time_jumping_back_and_still_stores_the_rows(world):
    ordered = world.frame.sort_values("Time", ignore_index=True)
    rejoined = ordered.copy()
    half = len(rejoined) // 2
    rejoined.loc[half:, "Time"] -= rejoined.loc[half, "Time"]  # the second half counts from 0 again
    datasets, warned = FakeDatasetStore(), []
    ingest = IngestDataset(FakeSource({"days.csv": rejoined, "ordered.csv": ordered}), datasets)

    ref = ingest("days.csv", warn=warned.append)

    assert len(warned) == 1
    assert warned[0].startswith(f"days.csv: Time goes back by more than 3600 s once in file order (first at "
                                f"data row {half + 1:,}: ")  # fmt: skip
    assert [stored.id for stored in datasets.list()] == [ref.id]
    ingest("ordered.csv", warn=warned.append)
    assert len(warned) == 1


def test_ingest_of_bad_rows_stores_nothing(world):
    bad = world.frame.copy()
    bad.loc[5, "Amount"] = -3.0
    datasets = FakeDatasetStore()
    with pytest.raises(InvalidDataError, match="column 'Amount' row 6: negative"):
        IngestDataset(FakeSource({"bad.csv": bad}), datasets)("bad.csv")
    assert datasets.list() == []


@pytest.mark.parametrize("source", ["", "  "])
def test_ingest_of_an_empty_source_says_so(world, source):
    """Read as a path, "" is the current folder: the source's "is a directory" hid the cause."""
    datasets = FakeDatasetStore()
    with pytest.raises(DataSourceError, match="the source is empty"):
        IngestDataset(FakeSource({"": world.frame, "  ": world.frame}), datasets)(source)
    assert datasets.list() == []


def test_validation_report_is_stored_as_json_and_html(world):
    store = FakeObjectStore()
    result = ValidateDataset(FakeValidator(), ObjectStoreReports(store))(world.frame, "abc123")
    assert result.report.success
    stored = json.loads(store.objects["reports/validation/abc123.json"])
    assert stored["success"] is True
    assert stored["statistics"]["evaluated"] == 2
    assert b"Data validation: PASSED" in store.objects["reports/validation/abc123.html"]
    result.raise_if_failed()  # no error


def test_failed_validation_names_the_expectation(world):
    result = ValidateDataset(FakeValidator(fail=True), ObjectStoreReports(FakeObjectStore()))(
        world.frame, "abc123"
    )
    with pytest.raises(ValidationFailedError, match=r"expect_column_mean_to_be_between\[Class\]"):
        result.raise_if_failed()
