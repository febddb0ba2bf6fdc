"""ParquetDatasetStore with real pyarrow on the local folder store and on S3 (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from fraud_detection.domain.dataset import DatasetId
from fraud_detection.domain.errors import (
    DatasetNotFoundError,
    DatasetRemovedError,
    DataSourceError,
    InvalidDataError,
)
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.schema import TRANSACTION_COLUMNS
from fraud_detection.infrastructure.arrow.dataset_store import ParquetDatasetStore
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.s3 import S3ObjectStore, make_s3_client

pytestmark = pytest.mark.integration


def _transactions(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(TRANSACTION_COLUMNS))), columns=list(TRANSACTION_COLUMNS))
    frame["Time"] = np.sort(rng.uniform(0, 172_792, rows))
    frame["Amount"] = rng.exponential(88.0, rows)
    frame["Class"] = (rng.uniform(size=rows) < 0.02).astype(np.float64)
    # Values a lossy float path would change: subnormal, negative zero, extremes, 17 significant digits.
    frame.loc[0, ["V1", "V2", "V3", "V4"]] = [5e-324, -0.0, 1.7976931348623157e308, 0.1 + 0.2]
    return frame


@pytest.fixture(params=["local", "moto"])
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "store")
        return
    with mock_aws():
        client = make_s3_client(region="us-east-1")
        client.create_bucket(Bucket="fraud-datasets")
        yield S3ObjectStore("fraud-datasets", "store", client=client)


@pytest.fixture
def datasets(object_store: ObjectStore) -> ParquetDatasetStore:
    return ParquetDatasetStore(object_store)


def test_save_writes_parquet_and_a_manifest(datasets: ParquetDatasetStore, object_store: ObjectStore) -> None:
    frame = _transactions(500, seed=1)
    ref = datasets.save(frame, source="data/creditcard.csv")
    assert ref.id == DatasetId.of(frame)
    assert (ref.rows, ref.frauds, ref.source) == (500, int(frame["Class"].sum()), "data/creditcard.csv")
    assert ref.uri == object_store.uri_for(f"raw/{ref.id}/data.parquet")
    assert datetime.fromisoformat(ref.created_at).utcoffset() == UTC.utcoffset(None)
    manifest = json.loads(object_store.read_bytes(f"raw/{ref.id}/manifest.json"))
    assert manifest == ref.to_dict()
    assert list(object_store.list_keys("raw/")) == [
        f"raw/{ref.id}/data.parquet",
        f"raw/{ref.id}/manifest.json",
    ]


def test_load_is_bit_identical(datasets: ParquetDatasetStore) -> None:
    frame = _transactions(2_000, seed=2)
    loaded = datasets.load(datasets.save(frame, "gen").id)
    assert list(loaded.columns) == list(TRANSACTION_COLUMNS)
    assert set(loaded.dtypes) == {np.dtype(np.float64)}
    assert isinstance(loaded.index, pd.RangeIndex)
    assert np.array_equal(loaded.to_numpy().view(np.uint64), frame.to_numpy().view(np.uint64))


def test_saving_the_same_content_again_keeps_the_first_ref(
    datasets: ParquetDatasetStore, object_store: ObjectStore
) -> None:
    frame = _transactions(300, seed=3)
    first = datasets.save(frame, "first.csv")
    reordered_index = frame.set_axis(range(1000, 1300))  # the index is not content
    again = datasets.save(reordered_index, "second.csv")
    assert replace(again, saved_at=first.saved_at) == first  # its first source and creation time
    assert again.saved_at > first.saved_at  # what a prune's minimum age counts from
    assert datasets.list() == [again]
    assert len(list(object_store.list_keys())) == 2


def test_list_is_newest_first_and_ignores_uncommitted_data(
    datasets: ParquetDatasetStore, object_store: ObjectStore
) -> None:
    older = datasets.save(_transactions(100, seed=4), "a")
    newer = datasets.save(_transactions(100, seed=5), "b")
    object_store.write_bytes(f"raw/{'f' * 64}/data.parquet", b"crashed before its manifest")
    assert datasets.list() == [newer, older]
    with pytest.raises(DatasetNotFoundError):
        datasets.get(DatasetId("f" * 64))
    assert datasets.resolve(newer.id.short) == newer


def test_get_and_load_unknown_ids_raise_dataset_not_found(datasets: ParquetDatasetStore) -> None:
    with pytest.raises(DatasetNotFoundError, match="0" * 64):
        datasets.get(DatasetId("0" * 64))
    with pytest.raises(DatasetNotFoundError):
        datasets.load(DatasetId("0" * 64))


def test_manifest_is_written_after_the_data(tmp_path: Path) -> None:
    class RecordingStore(LocalObjectStore):
        def __init__(self, root: Path) -> None:
            super().__init__(root)
            self.writes: list[str] = []

        def write_bytes(self, key: str, data: bytes) -> None:
            self.writes.append(key)
            super().write_bytes(key, data)

        def write_file(self, key: str, path: Path) -> None:
            self.writes.append(key)
            super().write_file(key, path)

    store = RecordingStore(tmp_path)
    ref = ParquetDatasetStore(store).save(_transactions(50, seed=6), "x")
    assert store.writes == [f"raw/{ref.id}/data.parquet", f"raw/{ref.id}/manifest.json"]


def test_parquet_layout_is_compressed_float64_in_schema_order(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    ref = ParquetDatasetStore(store).save(_transactions(100, seed=7), "x")
    parquet = pq.ParquetFile(tmp_path / "raw" / ref.id.value / "data.parquet")
    assert parquet.schema_arrow.names == list(TRANSACTION_COLUMNS)
    assert {str(field.type) for field in parquet.schema_arrow} == {"double"}
    assert parquet.metadata.row_group(0).column(0).compression in {"ZSTD", "SNAPPY"}


def test_load_refuses_content_that_does_not_match_its_id(
    datasets: ParquetDatasetStore, object_store: ObjectStore
) -> None:
    ref = datasets.save(_transactions(100, seed=8), "a")
    other = datasets.save(_transactions(100, seed=9), "b")
    object_store.write_bytes(
        f"raw/{ref.id}/data.parquet", object_store.read_bytes(f"raw/{other.id}/data.parquet")
    )
    with pytest.raises(DataSourceError, match="does not match its id"):
        datasets.load(ref.id)
    object_store.write_bytes(f"raw/{ref.id}/data.parquet", b"not parquet")
    with pytest.raises(DataSourceError, match="unreadable Parquet"):
        datasets.load(ref.id)


def test_save_checks_the_schema(datasets: ParquetDatasetStore) -> None:
    frame = _transactions(10, seed=10).drop(columns=["V5"])
    with pytest.raises(InvalidDataError, match=r"bad\.csv: column 'V5': missing columns"):
        datasets.save(frame, "bad.csv")


@pytest.mark.slow
def test_full_size_dataset_round_trip(datasets: ParquetDatasetStore) -> None:
    frame = _transactions(284_807, seed=11)
    ref = datasets.save(frame, "full")
    assert ref.rows == 284_807
    assert DatasetId.of(datasets.load(ref.id)) == ref.id


def test_a_save_whose_manifest_failed_is_completed_without_writing_the_data_again(tmp_path, monkeypatch):
    """A disk-full probe: the manifest write failed after the 68 MB data file was stored, and every later
    ingest of the same file failed too, writing that file again through a temporary copy."""
    store = LocalObjectStore(tmp_path / "store")
    datasets = ParquetDatasetStore(store)
    frame = _transactions(500, seed=3)
    real_write_bytes = store.write_bytes

    def full(key: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "write_bytes", full)
    with pytest.raises(OSError, match="No space left"):
        datasets.save(frame, "first.csv")
    assert datasets.list() == []  # no manifest: not a dataset yet
    monkeypatch.setattr(store, "write_bytes", real_write_bytes)
    monkeypatch.setattr(store, "write_file", lambda key, path: pytest.fail(f"{key} written again"))
    ref = datasets.save(frame, "again.csv")
    pd.testing.assert_frame_equal(datasets.load(ref.id), frame[list(TRANSACTION_COLUMNS)])


def test_a_removed_dataset_leaves_a_note_and_saving_its_rows_again_restores_it(
    datasets: ParquetDatasetStore, object_store: ObjectStore
) -> None:
    frame = _transactions(300, seed=11)
    ref = datasets.save(frame, "first")
    other = datasets.save(_transactions(200, seed=12), "other")
    datasets.remove(ref.id, "pruned at 2026-12-06T12:00:00+00:00 by ops@host; trained v1")
    assert [r.id for r in datasets.list()] == [other.id]
    assert sorted(object_store.list_keys(f"raw/{ref.id.value}/")) == [f"raw/{ref.id.value}/removed.json"]
    for lookup in (
        lambda: datasets.get(ref.id),
        lambda: datasets.load(ref.id),
        lambda: datasets.resolve(ref.id.value),
    ):
        with pytest.raises(
            DatasetRemovedError, match=r"was removed \(pruned at 2026-12-06T12:00:00\+00:00 by ops"
        ):
            lookup()
    with pytest.raises(DatasetNotFoundError, match="matches no stored dataset"):
        datasets.resolve(ref.id.value[:12])  # a prefix names no note: it could have meant any dataset
    assert datasets.save(frame, "again").id == ref.id
    pd.testing.assert_frame_equal(datasets.load(ref.id), frame, check_dtype=False)


def test_a_manifest_left_without_its_rows_is_mended_by_the_next_save(
    datasets: ParquetDatasetStore, object_store: ObjectStore
) -> None:
    """A save of the same rows between a prune's removal of the manifest and of the rows left a listed
    dataset without rows, for good: every later save saw the manifest and returned (a review found it)."""
    frame = _transactions(200, seed=13)
    ref = datasets.save(frame, "first")
    object_store.delete(f"raw/{ref.id.value}/data.parquet")
    with pytest.raises(DataSourceError, match="manifest present but data missing"):
        datasets.load(ref.id)
    datasets.save(frame, "again")
    pd.testing.assert_frame_equal(datasets.load(ref.id), frame, check_dtype=False)
