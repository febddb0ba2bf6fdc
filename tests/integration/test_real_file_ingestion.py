"""The real ULB/Kaggle rows through FileTransactionSource: every container of the same rows, one DatasetId."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from fraud_detection.domain.dataset import DatasetId
from fraud_detection.domain.errors import DataSourceError
from fraud_detection.domain.schema import LABEL, TRANSACTION_COLUMNS
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource
from fraud_detection.infrastructure.s3 import make_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

REAL_ROWS = 17_386
REAL_FRAUDS = 242
REGION = "us-east-1"


@pytest.fixture(scope="module")
def real_frame(real_sample_path: Path) -> pd.DataFrame:
    return FileTransactionSource().read(str(real_sample_path))


@pytest.fixture
def moto_s3() -> Iterator[S3Client]:
    with mock_aws():
        client = make_s3_client(region=REGION)
        client.create_bucket(Bucket="fraud-raw")
        yield client


def test_real_sample_reads_with_its_counts_and_types(real_frame: pd.DataFrame) -> None:
    assert len(real_frame) == REAL_ROWS
    assert int(real_frame[LABEL].sum()) == REAL_FRAUDS
    assert list(real_frame.columns) == list(TRANSACTION_COLUMNS)
    assert set(real_frame.dtypes) == {np.dtype(np.float64)}


def test_plain_csv_copy_has_the_same_id(
    real_frame: pd.DataFrame, real_sample_path: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "creditcard.csv"
    with gzip.open(real_sample_path, "rb") as compressed, plain.open("wb") as out:
        shutil.copyfileobj(compressed, out)
    assert DatasetId.of(FileTransactionSource().read(str(plain))) == DatasetId.of(real_frame)


def test_parquet_copy_has_the_same_id(
    real_frame: pd.DataFrame, real_sample_path: Path, tmp_path: Path
) -> None:
    # Written by an independent parser (pandas, correctly rounded), so both float parsers are checked.
    pd.read_csv(real_sample_path, float_precision="round_trip").to_parquet(tmp_path / "creditcard.parquet")
    from_parquet = FileTransactionSource().read(str(tmp_path / "creditcard.parquet"))
    assert DatasetId.of(from_parquet) == DatasetId.of(real_frame)


def test_kaggle_original_style_quoted_classes_and_crlf_have_the_same_id(
    real_frame: pd.DataFrame, real_sample_path: Path, tmp_path: Path
) -> None:
    lines = gzip.decompress(real_sample_path.read_bytes()).decode().splitlines()
    quoted = [lines[0]] + [f'{line.rsplit(",", 1)[0]},"{line.rsplit(",", 1)[1]}"' for line in lines[1:]]
    original = tmp_path / "creditcard.csv"
    original.write_bytes(("\r\n".join(quoted) + "\r\n").encode())
    assert DatasetId.of(FileTransactionSource().read(str(original))) == DatasetId.of(real_frame)


def test_s3_copy_has_the_same_id(real_frame: pd.DataFrame, real_sample_path: Path, moto_s3: S3Client) -> None:
    moto_s3.upload_file(str(real_sample_path), "fraud-raw", "kaggle/creditcard.csv.gz")
    by_factory = FileTransactionSource(s3_client_factory=lambda: moto_s3)
    by_settings = FileTransactionSource(region=REGION)  # builds its own client, as the container does
    for source in (by_factory, by_settings):
        frame = source.read("s3://fraud-raw/kaggle/creditcard.csv.gz")
        assert DatasetId.of(frame) == DatasetId.of(real_frame)


def test_missing_s3_object_is_a_data_source_error(moto_s3: S3Client) -> None:
    source = FileTransactionSource(s3_client_factory=lambda: moto_s3)
    with pytest.raises(DataSourceError, match=r"s3://fraud-raw/nope\.csv: no such S3 object"):
        source.read("s3://fraud-raw/nope.csv")
    with pytest.raises(
        DataSourceError, match=r"cannot download s3://no-bucket/x\.csv: bucket 'no-bucket' does not exist"
    ):
        source.read("s3://no-bucket/x.csv")
