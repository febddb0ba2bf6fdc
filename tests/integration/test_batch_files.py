"""ParquetBatchFiles against real pyarrow, a local work store and S3 under moto (batch roots: the test's
folder and the whole test bucket; the confinement's own attacks are in test_batch_confinement)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from botocore.config import Config
from moto import mock_aws

from fraud_detection.application.batch.inline import run_job
from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.domain.batch_roots import BatchRoots
from fraud_detection.domain.errors import (
    DataSourceError,
    InvalidDataError,
    LocationNotAllowedError,
    ServiceUnavailableError,
)
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.jobs import Chunk, JobPlan, JobRequest, JobState
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.schema import TRANSACTION_COLUMNS, V_COLUMNS
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.infrastructure.arrow.batch import ParquetBatchFiles
from fraud_detection.infrastructure.arrow.batch.confined_files import temporary_prefix
from fraud_detection.infrastructure.arrow.batch.row_group_plan import group_row_groups
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.s3 import S3ObjectStore, make_s3_client
from tests.fakes import FakeJobQueue, FakeRegistry

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "batch-data"
FORMATS = ("csv", "csv.gz", "parquet")


def transactions(rows: int, *, seed: int = 0, ids: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {"Time": np.arange(rows, dtype=np.float64)}
    data |= {column: rng.normal(size=rows).round(6) for column in V_COLUMNS}
    data["Amount"] = rng.gamma(2.0, 40.0, rows).round(2)
    data["Class"] = (rng.random(rows) < 0.01).astype(np.int64)
    if ids:  # leading zeros: must come back as text, not numbers
        data["transaction_id"] = [f"{i:08d}" for i in range(rows)]
    return pd.DataFrame(data)


def write_input(frame: pd.DataFrame, path: Path, file_format: str) -> Path:
    if file_format == "parquet":
        frame.to_parquet(path, index=False)
    else:
        gzip = {"method": "gzip", "compresslevel": 1}
        frame.to_csv(path, index=False, compression=gzip if file_format == "csv.gz" else None)
    return path


def scores(chunk: Chunk, ids: np.ndarray | None) -> dict[str, np.ndarray]:
    """Columns as the use case builds them."""
    probabilities = np.linspace(0.0, 1.0, chunk.rows)
    columns: dict[str, np.ndarray] = {
        "row": np.arange(chunk.first_row, chunk.first_row + chunk.rows, dtype=np.int64)
    }
    if ids is not None:
        columns["transaction_id"] = ids
    columns["probability"] = probabilities
    columns["decision"] = np.where(probabilities >= 0.5, "fraud", "legit")
    columns["model_version"] = np.full(chunk.rows, 7, dtype=np.int32)
    return columns


def score_all(files: ParquetBatchFiles, job_id: str, chunks: tuple[Chunk, ...]) -> None:
    for chunk in chunks:
        files.write_part(job_id, chunk, scores(chunk, files.read_chunk(chunk).transaction_ids))


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def roots(folder: Path) -> BatchRoots:
    """Inputs and outputs anywhere in the test's folder or the test bucket."""
    return BatchRoots((str(folder), f"s3://{BUCKET}"), (str(folder), f"s3://{BUCKET}"))


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "scratch"


@pytest.fixture
def work(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "work")


@pytest.fixture
def files(work: LocalObjectStore, scratch: Path) -> ParquetBatchFiles:
    return ParquetBatchFiles(work, roots=roots(work.root.parent), scratch_dir=scratch)


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = make_s3_client(region=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def s3_files(s3: S3Client, work: LocalObjectStore, scratch: Path) -> ParquetBatchFiles:
    return ParquetBatchFiles(
        work, roots=roots(work.root.parent), s3_client_factory=lambda: s3, scratch_dir=scratch
    )


def put(s3: S3Client, key: str, path: Path) -> str:
    s3.upload_file(str(path), BUCKET, key)
    return f"s3://{BUCKET}/{key}"


def bytes_downloaded(client: S3Client) -> list[int]:
    """Body sizes of every GetObject the client makes (ranged or whole, downloads included)."""
    sizes: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        sizes.append(int(parsed.get("ContentLength", 0)))

    client.meta.events.register("after-call.s3.GetObject", count)
    return sizes


# describe


@pytest.mark.parametrize("file_format", FORMATS)
def test_describe_local_input(files: ParquetBatchFiles, tmp_path: Path, file_format: str) -> None:
    path = write_input(transactions(50), tmp_path / "input.data", file_format)
    description = files.describe(str(path))
    assert description.format == file_format
    assert description.columns == (*TRANSACTION_COLUMNS, "transaction_id")
    assert description.rows == (50 if file_format == "parquet" else None)
    assert files.describe(path.as_uri()) == description


def test_describe_skips_a_stored_pandas_index(files: ParquetBatchFiles, tmp_path: Path) -> None:
    path = tmp_path / "indexed.parquet"
    transactions(20, ids=False).to_parquet(path, index=True)
    assert "__index_level_0__" in pq.read_schema(path).names
    assert files.describe(str(path)).columns == TRANSACTION_COLUMNS


@pytest.mark.parametrize("file_format", FORMATS)
def test_describe_s3_reads_only_a_few_kilobytes(
    s3_files: ParquetBatchFiles, s3: S3Client, tmp_path: Path, file_format: str
) -> None:
    path = write_input(transactions(40_000, ids=False), tmp_path / "big", file_format)
    uri = put(s3, f"in/big.{file_format}", path)
    sizes = bytes_downloaded(s3)
    description = s3_files.describe(uri)
    assert (description.format, description.columns) == (file_format, TRANSACTION_COLUMNS)
    assert description.rows == (40_000 if file_format == "parquet" else None)
    assert path.stat().st_size > 2_000_000
    assert 0 < sum(sizes) <= 200 * 1024, f"describe downloaded {sum(sizes)} bytes of {path.stat().st_size}"


def test_describe_errors_name_the_input(
    files: ParquetBatchFiles, s3_files: ParquetBatchFiles, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.csv"
    with pytest.raises(LocationNotAllowedError, match=r"input '.*missing\.csv': not found or not allowed"):
        files.describe(str(missing))
    (tmp_path / "folder").mkdir()
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        files.describe(str(tmp_path / "folder"))
    with pytest.raises(
        LocationNotAllowedError, match=rf"'s3://{BUCKET}/nope\.csv': not found or not allowed"
    ):
        s3_files.describe(f"s3://{BUCKET}/nope.csv")
    with pytest.raises(
        LocationNotAllowedError, match=r"'https://example\.com/a\.csv': not found or not allowed"
    ):
        files.describe("https://example.com/a.csv")
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"garbage\0\1\2")
    with pytest.raises(InvalidDataError, match=r"not a Parquet file: it does not begin with .* PAR1"):
        files.describe(str(garbage))  # it was read as a CSV: "missing columns ['V1', ...]"
    archive = tmp_path / "input.zip"
    archive.write_bytes(b"PK\x03\x04" + b"\x00" * 30)
    with pytest.raises(DataSourceError, match=r"input\.zip: a zip archive is not a supported format"):
        files.describe(str(archive))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"\xff\xfe\x00V1,V2\n", "not UTF-8"),
        (b"\n1,2\n", "no header row"),
        (b"V1," * 30_000, "no line break"),
        (b"V1,V1,Amount\n1,2,3\n", "duplicated columns"),
        (b"PAR1 this is not really parquet", "not a readable Parquet file"),
        (b"\x1f\x8b\x08\x00 broken gzip", "corrupt gzip"),
    ],
)
def test_describe_unreadable_headers(
    files: ParquetBatchFiles, tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "bad-input"
    path.write_bytes(content)
    with pytest.raises(InvalidDataError, match=problem) as caught:
        files.describe(str(path))
    assert caught.value.source == str(path)


def test_storage_outage_is_retryable(
    work: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens on the discard port; one attempt, so no retry backoff slows the test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=1, s3={"addressing_style": "path"})
    session = boto3.session.Session()
    client = session.client("s3", endpoint_url="http://127.0.0.1:9", region_name=REGION, config=config)
    files = ParquetBatchFiles(
        work, roots=roots(tmp_path), s3_client_factory=lambda: client, scratch_dir=tmp_path / "scratch"
    )
    with pytest.raises(ServiceUnavailableError, match=rf"s3://{BUCKET}/in\.csv"):
        files.describe(f"s3://{BUCKET}/in.csv")
    with pytest.raises(ServiceUnavailableError, match=rf"s3://{BUCKET}/in\.csv"):
        list(files.stage("down", f"s3://{BUCKET}/in.csv", 10))
    chunks = tuple(files.stage("down", str(write_input(transactions(20), tmp_path / "in.csv", "csv")), 10))
    score_all(files, "down", chunks)
    with pytest.raises(ServiceUnavailableError, match=rf"s3://{BUCKET}/out\.parquet"):
        files.commit("down", chunks, f"s3://{BUCKET}/out.parquet")
    assert files_under(tmp_path / "scratch") == []


# stage and read_chunk


@pytest.mark.parametrize("file_format", FORMATS)
def test_stage_splits_into_chunks_in_order(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path, file_format: str
) -> None:
    frame = transactions(10_500)
    path = write_input(frame, tmp_path / "input", file_format)
    chunks = tuple(files.stage("job-1", str(path), 5_000))
    assert [(c.index, c.rows, c.first_row) for c in chunks] == [
        (0, 5_000, 0),
        (1, 5_000, 5_000),
        (2, 500, 10_000),
    ]
    assert [c.key for c in chunks] == [f"jobs/job-1/input/{n:06d}.arrow" for n in range(3)]
    assert all(work.exists(c.key) for c in chunks)
    for chunk in chunks:
        rows = files.read_chunk(chunk)
        expected = frame.iloc[chunk.first_row : chunk.first_row + chunk.rows]
        assert rows.inputs.shape == (chunk.rows, 29)
        assert rows.inputs.dtype == np.float64
        np.testing.assert_allclose(rows.inputs, expected[list(SCORING_INPUTS)].to_numpy(), rtol=1e-12)
        assert rows.transaction_ids is not None
        assert rows.transaction_ids.tolist() == expected["transaction_id"].tolist()


def test_stage_from_s3_leaves_no_scratch_files(
    s3_files: ParquetBatchFiles, s3: S3Client, scratch: Path, tmp_path: Path
) -> None:
    frame = transactions(1_200, ids=False)[list(reversed(SCORING_INPUTS))]  # any column order works
    uri = put(s3, "in/input.csv.gz", write_input(frame, tmp_path / "in.csv.gz", "csv.gz"))
    chunks = tuple(s3_files.stage("s3-job", uri, 1_000))
    assert [c.rows for c in chunks] == [1_000, 200]
    last = s3_files.read_chunk(chunks[1])
    assert last.transaction_ids is None
    np.testing.assert_allclose(last.inputs, frame.iloc[1_000:][list(SCORING_INPUTS)].to_numpy(), rtol=1e-12)
    assert files_under(scratch) == []


def test_stage_names_column_and_row_of_text_in_a_numeric_csv_column(
    files: ParquetBatchFiles, tmp_path: Path
) -> None:
    frame = transactions(10_000).astype({"V3": object})
    frame.loc[7_000, "V3"] = "n/a?"
    path = write_input(frame, tmp_path / "bad.csv", "csv")
    with pytest.raises(InvalidDataError) as caught:
        list(files.stage("job-bad", str(path), 5_000))
    assert (caught.value.column, caught.value.row) == ("V3", 7_000)
    assert "column 'V3' row 7001" in str(caught.value)
    assert "'n/a?' is not a number" in str(caught.value)


@pytest.mark.parametrize("column", ["V1", "transaction_id"])
def test_stage_names_column_and_row_of_a_byte_that_is_not_utf8(
    files: ParquetBatchFiles, tmp_path: Path, column: str
) -> None:
    """A Latin-1 file: pyarrow said "CSV conversion error to double: invalid value '\ufffd-0.75'" or "invalid
    UTF8 data", naming no row (the locating pass read the column as text and failed the same way)."""
    frame = transactions(10_000).assign(transaction_id=[f"tx-{i}" for i in range(10_000)])
    path = write_input(frame, tmp_path / "latin1.csv", "csv")
    lines = path.read_bytes().split(b"\n")
    header = lines[0].decode().split(",")
    cells = lines[2_001].split(b",")
    cells[header.index(column)] = b"\xe9" + cells[header.index(column)]  # row 2,000, after the header
    lines[2_001] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InvalidDataError) as caught:
        list(files.stage("job-latin1", str(path), 5_000))
    assert (caught.value.column, caught.value.row) == (column, 2_000)
    assert "is not UTF-8 text" in str(caught.value)
    assert "b'\\xe9" in str(caught.value)


def test_stage_names_column_and_row_of_text_in_a_numeric_parquet_column(
    files: ParquetBatchFiles, tmp_path: Path
) -> None:
    frame = transactions(10_000).astype({"Amount": str})
    frame.loc[9_999, "Amount"] = "12,50"
    path = write_input(frame, tmp_path / "bad.parquet", "parquet")
    with pytest.raises(InvalidDataError) as caught:
        list(files.stage("job-bad", str(path), 4_000))
    assert (caught.value.column, caught.value.row) == ("Amount", 9_999)


def test_stage_refuses_booleans_and_missing_columns(files: ParquetBatchFiles, tmp_path: Path) -> None:
    flags = transactions(10).assign(V5=True)
    with pytest.raises(InvalidDataError, match="bool values, expected numbers") as caught:
        list(files.stage("j", str(write_input(flags, tmp_path / "flags.parquet", "parquet")), 5))
    assert caught.value.column == "V5"
    short = transactions(10).drop(columns=["V28"])
    with pytest.raises(InvalidDataError, match=r"missing columns \['V28'\]"):
        list(files.stage("j", str(write_input(short, tmp_path / "short.csv", "csv")), 5))


def test_stage_numbers_a_csv_line_with_missing_fields(files: ParquetBatchFiles, tmp_path: Path) -> None:
    path = write_input(transactions(8_000, ids=False), tmp_path / "ragged.csv", "csv")
    lines = path.read_text().splitlines()
    lines[6_001] = lines[6_001].rsplit(",", 1)[0]  # file line 6,002: one field short
    path.write_text("\r\n".join(lines) + "\r\n")
    with pytest.raises(InvalidDataError) as caught:
        list(files.stage("ragged", str(path), 5_000))
    # Data row 6,001 (the header not counted), as every other error counts rows; the row's text not shown
    assert str(caught.value).endswith(" row 6001: 30 fields, expected 31")
    assert caught.value.row == 6_000


def test_stage_of_a_header_only_file_yields_no_chunk(files: ParquetBatchFiles, tmp_path: Path) -> None:
    path = write_input(transactions(0), tmp_path / "empty.csv", "csv")
    assert files.describe(str(path)).columns[:2] == ("Time", "V1")
    assert list(files.stage("empty", str(path), 10)) == []


def test_stage_reads_the_real_rows(files: ParquetBatchFiles, real_sample_path: Path, tmp_path: Path) -> None:
    source = tmp_path / real_sample_path.name  # inputs sit under the roots: a copy, not a symlink
    source.write_bytes(real_sample_path.read_bytes())
    chunks = tuple(files.stage("real", str(source), 5_000))
    expected = pd.read_csv(real_sample_path)[list(SCORING_INPUTS)].to_numpy(dtype=np.float64)
    staged = np.concatenate([files.read_chunk(chunk).inputs for chunk in chunks])
    np.testing.assert_array_equal(staged, expected)


# Parquet inputs read in place


def write_row_groups(frame: pd.DataFrame, path: Path, group_rows: int) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=group_rows)
    return path


def test_row_groups_are_grouped_into_chunks_near_the_chunk_size() -> None:
    assert group_row_groups([1_000] * 10 + [500], 3_000) == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10)]
    assert group_row_groups([4_000, 1_000, 1_000, 0, 3_000], 3_000) == [(0,), (1, 2), (4,)]
    assert group_row_groups([6_000, 10], 3_000) == [(0,), (1,)]  # up to twice the chunk size in place
    assert group_row_groups([6_001], 3_000) is None  # one group larger than that: stage the file
    assert group_row_groups([], 3_000) == []


def test_a_parquet_input_is_read_in_place_by_row_groups(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    frame = transactions(10_500)
    path = write_row_groups(frame, tmp_path / "input.parquet", 1_000)
    chunks = tuple(files.stage("direct", str(path), 3_000))
    assert [(c.index, c.key, c.rows, c.first_row, c.row_groups) for c in chunks] == [
        (0, str(path), 3_000, 0, (0, 1, 2)),
        (1, str(path), 3_000, 3_000, (3, 4, 5)),
        (2, str(path), 3_000, 6_000, (6, 7, 8)),
        (3, str(path), 1_500, 9_000, (9, 10)),
    ]
    assert list(work.list_keys("jobs/")) == []  # nothing staged
    for chunk in chunks:
        rows = files.read_chunk(chunk)
        expected = frame.iloc[chunk.first_row : chunk.first_row + chunk.rows]
        np.testing.assert_array_equal(rows.inputs, expected[list(SCORING_INPUTS)].to_numpy())
        assert rows.transaction_ids is not None
        assert rows.transaction_ids.tolist() == expected["transaction_id"].tolist()


def test_an_s3_parquet_input_is_read_in_place_fetching_only_the_chunk(
    s3_files: ParquetBatchFiles, s3: S3Client, work: LocalObjectStore, tmp_path: Path
) -> None:
    frame = transactions(20_000)
    path = write_row_groups(frame, tmp_path / "input.parquet", 2_500)
    uri = put(s3, "in/input.parquet", path)
    chunks = tuple(s3_files.stage("s3-direct", uri, 5_000))
    assert [(c.key, c.rows, c.row_groups) for c in chunks] == [
        (uri, 5_000, (0, 1)),
        (uri, 5_000, (2, 3)),
        (uri, 5_000, (4, 5)),
        (uri, 5_000, (6, 7)),
    ]
    assert list(work.list_keys("jobs/")) == []
    sizes = bytes_downloaded(s3)
    rows = s3_files.read_chunk(chunks[2])
    expected = frame.iloc[10_000:15_000]
    np.testing.assert_array_equal(rows.inputs, expected[list(SCORING_INPUTS)].to_numpy())
    assert rows.transaction_ids is not None
    assert rows.transaction_ids.tolist() == expected["transaction_id"].tolist()
    # A quarter of the rows, without Time and Class: well under a third of the object.
    assert 0 < sum(sizes) < path.stat().st_size / 3, f"read {sum(sizes)} of {path.stat().st_size} bytes"


def test_a_parquet_file_of_one_huge_row_group_is_staged(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    frame = transactions(10_000)
    path = write_row_groups(frame, tmp_path / "input.parquet", 10_000)
    chunks = tuple(files.stage("huge", str(path), 4_000))
    assert [(c.key, c.rows, c.row_groups) for c in chunks] == [
        (f"jobs/huge/input/{n:06d}.arrow", rows, ()) for n, rows in enumerate([4_000, 4_000, 2_000])
    ]
    assert all(work.exists(c.key) for c in chunks)
    staged = np.concatenate([files.read_chunk(chunk).inputs for chunk in chunks])
    np.testing.assert_array_equal(staged, frame[list(SCORING_INPUTS)].to_numpy())


def test_clean_never_touches_an_input_read_in_place(
    files: ParquetBatchFiles, s3_files: ParquetBatchFiles, s3: S3Client, tmp_path: Path
) -> None:
    path = write_row_groups(transactions(3_000), tmp_path / "input.parquet", 1_000)
    before = path.read_bytes()
    uri = put(s3, "in/kept.parquet", path)
    for batch_files, source in ((files, str(path)), (s3_files, uri)):
        chunks = tuple(batch_files.stage("keep", source, 1_000))
        assert all(chunk.row_groups for chunk in chunks)
        score_all(batch_files, "keep", chunks)
        assert batch_files.commit("keep", chunks, str(tmp_path / "out.parquet")) == 3_000
        batch_files.clean("keep")
    assert path.read_bytes() == before
    assert s3.get_object(Bucket=BUCKET, Key="in/kept.parquet")["Body"].read() == before


def test_in_place_reads_name_a_bad_cell_and_refuse_other_types_when_planning(
    files: ParquetBatchFiles, tmp_path: Path
) -> None:
    text = transactions(4_000).astype({"V7": str})
    text.loc[3_456, "V7"] = "1.2.3"
    chunks = tuple(files.stage("text", str(write_row_groups(text, tmp_path / "text.parquet", 1_000)), 2_000))
    assert [c.row_groups for c in chunks] == [(0, 1), (2, 3)]
    np.testing.assert_array_equal(files.read_chunk(chunks[0]).inputs[:, 6], text["V7"][:2_000].astype(float))
    with pytest.raises(InvalidDataError, match=r"'1\.2\.3' is not a number") as caught:
        files.read_chunk(chunks[1])
    assert (caught.value.column, caught.value.row) == ("V7", 3_456)
    dates = transactions(100).assign(Amount=pd.Timestamp("2024-01-01"))
    with pytest.raises(InvalidDataError, match=r"holds timestamp\[.*\] values, expected numbers") as caught:
        list(files.stage("dates", str(write_row_groups(dates, tmp_path / "dates.parquet", 10)), 50))
    assert caught.value.column == "Amount"


def test_an_input_replaced_while_the_job_runs_is_refused(files: ParquetBatchFiles, tmp_path: Path) -> None:
    path = write_row_groups(transactions(2_000), tmp_path / "input.parquet", 500)
    chunks = tuple(files.stage("moving", str(path), 1_000))
    write_row_groups(transactions(2_000), path, 400)
    with pytest.raises(InvalidDataError, match="the input changed while the job ran"):
        files.read_chunk(chunks[0])
    path.unlink()
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        files.read_chunk(chunks[0])


def test_an_input_replaced_by_one_of_the_same_layout_is_refused(
    files: ParquetBatchFiles, s3_files: ParquetBatchFiles, s3: S3Client, tmp_path: Path
) -> None:
    """Same rows per group (a day re-exported): only the row counts were compared, and a job scored chunk 0
    of one file and the rest of the other, then reported success."""
    path = write_row_groups(transactions(2_000, seed=1), tmp_path / "input.parquet", 500)
    uri = put(s3, "in/moving.parquet", path)
    local_chunks = tuple(files.stage("moving", str(path), 1_000))
    s3_chunks = tuple(s3_files.stage("moving-s3", uri, 1_000))
    assert files.read_chunk(local_chunks[0]).inputs.shape == (1_000, len(SCORING_INPUTS))  # unchanged: read
    write_row_groups(transactions(2_000, seed=2), path, 500)
    put(s3, "in/moving.parquet", path)
    for batch_files, chunk in ((files, local_chunks[1]), (s3_files, s3_chunks[1])):
        with pytest.raises(InvalidDataError, match="the input changed while the job ran"):
            batch_files.read_chunk(chunk)


def test_an_s3_input_replaced_between_its_footer_and_its_row_groups_is_refused(
    s3_files: ParquetBatchFiles, s3: S3Client, tmp_path: Path
) -> None:
    """The footer check passes on the planned file; the row groups then came from its replacement (every
    ranged GET read whatever the key held then), mixing two files. Each GET now names the HEAD's ETag."""
    frame = transactions(2_000, seed=1)
    path = write_row_groups(frame, tmp_path / "input.parquet", 500)
    uri = put(s3, "in/racing.parquet", path)
    chunks = tuple(s3_files.stage("racing", uri, 1_000))
    replacement = write_row_groups(transactions(2_000, seed=2), tmp_path / "other.parquet", 500)
    replaced: list[str] = []

    def replace_once(**_: Any) -> None:
        if not replaced:  # after the read's first GET (the footer): another writer replaces the object
            replaced.append(put(s3, "in/racing.parquet", replacement))

    s3.meta.events.register("after-call.s3.GetObject", replace_once)
    with pytest.raises(InvalidDataError, match="the input changed while it was read"):
        s3_files.read_chunk(chunks[1])
    assert replaced


def test_chunks_read_in_place_survive_the_job_records(work: LocalObjectStore) -> None:
    store = ObjectStoreJobStore(work)
    store.create(
        JobRequest("round-trip", "in.parquet", "out.parquet", "champion", "2026-01-01T00:00:00+00:00")
    )
    chunks = (
        Chunk(0, "s3://b/in.parquet", 30, 0, row_groups=(0, 1, 2), input_fingerprint="ab12"),
        Chunk(1, "jobs/x/input/1", 5, 30),
    )
    plan = JobPlan("fraud-lgbm", 3, 0.5, chunks, has_transaction_id=True)
    store.save_plan("round-trip", plan)
    assert store.plan("round-trip") == plan


def test_job_records_count_the_runs_of_a_step_that_never_ended(work: LocalObjectStore) -> None:
    store = ObjectStoreJobStore(work)
    store.create(JobRequest("runs", "in.parquet", "out.parquet", "champion", "2026-01-01T00:00:00+00:00"))
    assert store.status("runs").state is JobState.QUEUED
    first, lost = store.begin_run("runs", "prepare")  # its worker is killed: the run never ends
    assert lost == 0
    assert store.status("runs").state is JobState.RUNNING  # staging has started
    second, lost = store.begin_run("runs", "prepare")
    assert lost == 1
    store.end_run("runs", "prepare", second)
    assert store.begin_run("runs", "prepare")[1] == 1  # an ended run is not counted
    assert store.begin_run("runs", "chunk 3")[1] == 0  # per step
    assert first not in "".join(work.list_keys("jobs/runs/runs/chunk-3/"))
    store.delete("runs")
    assert list(work.list_keys("jobs/runs/")) == []


def test_a_chunk_staged_as_parquet_by_an_earlier_version_is_still_read(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    frame = transactions(100)
    table = pa.Table.from_pandas(frame[[*SCORING_INPUTS, "transaction_id"]], preserve_index=False)
    pq.write_table(table, tmp_path / "old.parquet", compression="zstd")
    work.write_file("jobs/old/input/000000.parquet", tmp_path / "old.parquet")
    rows = files.read_chunk(Chunk(0, "jobs/old/input/000000.parquet", 100, 0))
    np.testing.assert_array_equal(rows.inputs, frame[list(SCORING_INPUTS)].to_numpy())


# write_part, commit, clean


@pytest.fixture(params=["local", "s3"])
def any_work_files(
    request: pytest.FixtureRequest, tmp_path: Path, scratch: Path
) -> Iterator[ParquetBatchFiles]:
    """The work store in both kinds settings allow (an S3 body cannot seek: a different read path)."""
    if request.param == "local":
        yield ParquetBatchFiles(
            LocalObjectStore(tmp_path / "work"), roots=roots(tmp_path), scratch_dir=scratch
        )
        return
    with mock_aws():
        client = make_s3_client(region=REGION)
        client.create_bucket(Bucket="work")
        store: ObjectStore = S3ObjectStore("work", "fraud", client=client)
        yield ParquetBatchFiles(
            store, roots=roots(tmp_path), s3_client_factory=lambda: client, scratch_dir=scratch
        )


def test_write_part_then_commit_in_chunk_order(any_work_files: ParquetBatchFiles, tmp_path: Path) -> None:
    files = any_work_files
    chunks = tuple(
        files.stage("job-2", str(write_input(transactions(2_500), tmp_path / "in.csv", "csv")), 1_000)
    )
    for chunk in reversed(chunks):  # parts may finish in any order
        files.write_part("job-2", chunk, scores(chunk, files.read_chunk(chunk).transaction_ids))
    output = tmp_path / "results" / "nested" / "scores.parquet"
    assert files.commit("job-2", chunks, str(output)) == 2_500
    table = pq.read_table(output)
    assert table.schema.names == ["row", "transaction_id", "probability", "decision", "model_version"]
    assert [str(t) for t in table.schema.types] == ["int64", "string", "double", "string", "int32"]
    assert table.column("row").to_pylist() == list(range(2_500))
    assert table.column("transaction_id").to_pylist() == [f"{i:08d}" for i in range(2_500)]
    assert set(table.column("decision").to_pylist()) == {"fraud", "legit"}
    assert files_under(output.parent) == ["scores.parquet"]


def test_a_recommit_finds_its_own_output_and_another_job_cannot_replace_it(
    files: ParquetBatchFiles, tmp_path: Path
) -> None:
    chunks = tuple(
        files.stage("job-3", str(write_input(transactions(1_500), tmp_path / "in.csv", "csv")), 1_000)
    )
    score_all(files, "job-3", chunks)
    retried = scores(chunks[0], files.read_chunk(chunks[0]).transaction_ids)
    files.write_part("job-3", chunks[0], retried)  # a retried task overwrites its part
    output = tmp_path / "out.parquet"
    files.check_output("job-3", str(output))  # free
    assert files.commit("job-3", chunks, output.as_uri()) == 1_500
    before = output.read_bytes()
    files.check_output("job-3", str(output))  # its own
    assert files.commit("job-3", chunks, str(output)) == 1_500  # a redelivered commit: its own output
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        files.check_output("job-3b", str(output))  # what prepare asks before any row is scored
    score_all(files, "job-3b", chunks)
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        files.commit("job-3b", chunks, str(output))
    assert output.read_bytes() == before
    assert [name for name in files_under(tmp_path) if "out" in name] == ["out.parquet"]


def test_commit_to_s3(s3_files: ParquetBatchFiles, s3: S3Client, tmp_path: Path, scratch: Path) -> None:
    chunks = tuple(
        s3_files.stage("job-4", str(write_input(transactions(1_200), tmp_path / "in.csv", "csv")), 500)
    )
    score_all(s3_files, "job-4", chunks)
    uri = f"s3://{BUCKET}/out/scores.parquet"
    assert s3_files.commit("job-4", chunks, uri) == 1_200
    assert s3_files.commit("job-4", chunks, uri) == 1_200  # a redelivered commit finds its own output
    s3_files.check_output("job-4", uri)
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        s3_files.check_output("job-4b", uri)
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        s3_files.commit("job-4b", chunks, uri)
    body = s3.get_object(Bucket=BUCKET, Key="out/scores.parquet")["Body"].read()
    assert pq.read_table(io.BytesIO(body)).column("row").to_pylist() == list(range(1_200))
    assert files_under(scratch) == []


def test_failed_commit_leaves_the_old_output_and_no_litter(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path, scratch: Path
) -> None:
    chunks = tuple(
        files.stage("job-5", str(write_input(transactions(3_000), tmp_path / "in.csv", "csv")), 1_000)
    )
    score_all(files, "job-5", chunks)
    out_dir = tmp_path / "out"
    fresh = out_dir / "fresh.parquet"
    previous = out_dir / "previous.parquet"
    assert files.commit("job-5", chunks, str(previous)) == 3_000
    before = previous.read_bytes()
    work.delete("jobs/job-5/parts/000002.arrow")
    with pytest.raises(DataSourceError, match="scores of chunk 2 of job 'job-5' is missing"):
        files.commit("job-5", chunks, str(fresh))
    score_all(files, "job-5b", chunks[:2])
    with pytest.raises(LocationNotAllowedError, match="already exists"):  # never replaced, even by a job
        files.commit("job-5b", chunks[:2], str(previous))
    assert previous.read_bytes() == before
    assert files_under(out_dir) == ["previous.parquet"]
    assert files_under(scratch) == []


def test_a_commit_removes_what_its_killed_runs_left_and_nothing_else(
    files: ParquetBatchFiles, tmp_path: Path
) -> None:
    """A worker SIGKILLed mid-commit left its temporary output (8 MB) in the output folder for good."""
    chunks = tuple(files.stage("job-9", str(write_input(transactions(500), tmp_path / "in.csv", "csv")), 500))
    score_all(files, "job-9", chunks)
    out = tmp_path / "out"
    out.mkdir()
    killed = f"{temporary_prefix('day.parquet', 'job-9')}0123abcd.tmp"
    other = f"{temporary_prefix('day.parquet', 'job-10')}4567ef01.tmp"
    (out / killed).write_bytes(b"half an output")  # the killed run's
    (out / other).write_bytes(b"another job's")  # not this job's to touch
    assert files.commit("job-9", chunks, str(out / "day.parquet")) == 500
    assert sorted(path.name for path in out.iterdir()) == sorted([other, "day.parquet"])


def test_a_long_namespaced_job_id_and_a_long_output_name_commit(
    files: ParquetBatchFiles, tmp_path: Path
) -> None:
    """The temporary name held the job id itself: with a 128-character namespaced id, an output name over
    ~89 characters failed its commit with ENAMETOOLONG (a review found it); then the name itself, so that
    a valid name over 200 bytes failed once every row was scored (a probe found it)."""
    job_id = f"{'n' * 63}:{'j' * 64}"
    chunks = tuple(files.stage(job_id, str(write_input(transactions(10), tmp_path / "in.csv", "csv")), 10))
    score_all(files, job_id, chunks)
    target = tmp_path / f"{'o' * 247}.parquet"  # 255 bytes: the longest name the file system holds
    assert files.commit(job_id, chunks, str(target)) == 10
    assert target.exists()


def test_commit_refuses_a_part_of_the_wrong_length(files: ParquetBatchFiles, tmp_path: Path) -> None:
    chunks = tuple(files.stage("job-6", str(write_input(transactions(20), tmp_path / "in.csv", "csv")), 10))
    score_all(files, "job-6", chunks)
    short = Chunk(1, chunks[1].key, 9, 10)
    files.write_part("job-6", short, scores(short, None))
    with pytest.raises(DataSourceError, match="chunk 1 of job 'job-6' hold 9 rows, expected 10"):
        files.commit("job-6", chunks, str(tmp_path / "out.parquet"))
    assert not (tmp_path / "out.parquet").exists()


def test_clean_removes_staged_chunks_and_parts_only(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    path = write_input(transactions(30), tmp_path / "in.csv", "csv")
    kept = ["jobs/job-7/request.json", "jobs/job-7/plan.json", "jobs/job-7/done/000000.json"]
    for key in kept:
        work.write_bytes(key, b"{}")
    other = tuple(files.stage("job-8", str(path), 10))
    chunks = tuple(files.stage("job-7", str(path), 10))
    score_all(files, "job-7", chunks)
    files.clean("job-7")
    files.clean("job-7")  # idempotent
    assert list(work.list_keys("jobs/job-7/")) == sorted(kept)
    assert [key for key in work.list_keys("jobs/job-8/")] == [c.key for c in other]


# with the use cases


def job_runner(work: LocalObjectStore, files: ParquetBatchFiles) -> tuple[SubmitScoringJob, JobSteps]:
    registry = FakeRegistry()
    registry.register("models:/1", "run", ModelMetadata("fe-1", 0.5, "dataset"))
    registry.set_alias(CHAMPION, 1)
    store = ObjectStoreJobStore(work)
    models, rules = JobModels(registry, ModelAccelerator()), ScoringInput.of(ValidationRules())
    steps = JobSteps(store, files, models, rules, chunk_rows=400)
    return SubmitScoringJob(store, FakeJobQueue(), roots(work.root.parent)), steps


def test_a_whole_job_through_the_use_cases(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    submit, steps = job_runner(work, files)
    source = write_input(transactions(1_000).drop(columns=["Class"]), tmp_path / "in.csv.gz", "csv.gz")
    output = tmp_path / "out" / "scores.parquet"
    submit(str(source), str(output), job_id="whole-job")
    assert run_job(steps, "whole-job") is JobState.SUCCEEDED
    table = pq.read_table(output)
    assert table.column("row").to_pylist() == list(range(1_000))
    assert table.column("transaction_id").to_pylist()[-1] == "00000999"
    assert not [key for key in work.list_keys("jobs/whole-job/") if "/input/" in key or "/parts/" in key]
    assert work.exists("jobs/whole-job/request.json")


def test_a_job_over_bad_data_fails_naming_column_and_row(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    submit, steps = job_runner(work, files)
    frame = transactions(1_000).astype({"V3": object})
    frame.loc[900, "V3"] = "oops"
    submit(str(write_input(frame, tmp_path / "in.csv", "csv")), str(tmp_path / "out.parquet"), job_id="bad")
    assert run_job(steps, "bad") is JobState.FAILED
    status = ObjectStoreJobStore(work).status("bad")
    assert status.error is not None
    assert "column 'V3' row 901" in status.error
    assert not (tmp_path / "out.parquet").exists()
    assert not [key for key in work.list_keys("jobs/bad/") if "/input/" in key]


def test_a_job_over_a_parquet_input_read_in_place(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    submit, steps = job_runner(work, files)
    frame = transactions(1_000).drop(columns=["Class"])
    source = write_row_groups(frame, tmp_path / "in.parquet", 200)
    output = tmp_path / "scores.parquet"
    submit(str(source), str(output), job_id="in-place")
    assert run_job(steps, "in-place") is JobState.SUCCEEDED
    plan = ObjectStoreJobStore(work).plan("in-place")
    assert plan is not None
    assert [chunk.row_groups for chunk in plan.chunks] == [(0, 1), (2, 3), (4,)]
    table = pq.read_table(output)
    assert table.column("row").to_pylist() == list(range(1_000))
    assert table.column("transaction_id").to_pylist() == frame["transaction_id"].tolist()
    assert source.exists()


def test_a_missing_value_read_in_place_fails_the_job_naming_column_and_row(
    files: ParquetBatchFiles, work: LocalObjectStore, tmp_path: Path
) -> None:
    submit, steps = job_runner(work, files)
    frame = transactions(1_000)
    frame.loc[777, "V12"] = np.nan
    source = write_row_groups(frame, tmp_path / "in.parquet", 250)
    submit(str(source), str(tmp_path / "out.parquet"), job_id="gap")
    assert run_job(steps, "gap") is JobState.FAILED
    error = ObjectStoreJobStore(work).status("gap").error
    assert error is not None
    assert "column 'V12' row 778" in error
    assert "missing or non-finite value" in error
    assert source.exists()
    assert not (tmp_path / "out.parquet").exists()


# bounded memory


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from fraud_detection.domain.batch_roots import BatchRoots
    from fraud_detection.infrastructure.arrow.batch import ParquetBatchFiles
    from fraud_detection.infrastructure.local import LocalObjectStore

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024

    source, folder, chunk_rows = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    roots = BatchRoots((str(folder),), (str(folder),))
    files = ParquetBatchFiles(LocalObjectStore(folder / "work"), roots=roots, scratch_dir=folder / "scratch")
    baseline = status("VmRSS:")
    started = time.perf_counter()
    chunks = tuple(files.stage("memory", source, chunk_rows))
    staged = time.perf_counter()
    stage_peak = status("VmHWM:")

    def score(chunk):
        rows = files.read_chunk(chunk)
        probability = np.full(chunk.rows, 0.25)
        files.write_part("memory", chunk, {
            "row": np.arange(chunk.first_row, chunk.first_row + chunk.rows, dtype=np.int64),
            "transaction_id": rows.transaction_ids,
            "probability": probability,
            "decision": np.where(probability >= 0.5, "fraud", "legit"),
            "model_version": np.full(chunk.rows, 1, dtype=np.int32),
        })

    for chunk in chunks:
        score(chunk)
    scored = time.perf_counter()
    written = files.commit("memory", chunks, str(folder / "out.parquet"))
    print(json.dumps({
        "rows": written, "chunks": len(chunks),
        "stage_growth": stage_peak - baseline, "peak_growth": status("VmHWM:") - baseline,
        "stage_seconds": staged - started, "commit_seconds": time.perf_counter() - scored,
    }))
    """
)


@pytest.mark.slow
def test_memory_stays_bounded_by_the_chunk_size(tmp_path: Path) -> None:
    """2,000,000 rows (31 numeric columns and an id: ~500 MB as Arrow) in chunks of 100,000 rows, measured
    in a fresh process so nothing else in the test session counts. Reading the whole file, as a plain
    `read_csv` would, grows the process by more than the file's Arrow size."""
    rows, chunk_rows = 2_000_000, 100_000
    path = tmp_path / "big.csv"
    schema = pa.Table.from_pandas(transactions(1), preserve_index=False).schema
    with pa_csv.CSVWriter(path, schema) as writer:
        for start in range(0, rows, 200_000):
            piece = transactions(200_000, seed=start)
            piece["transaction_id"] = [f"{i:08d}" for i in range(start, start + 200_000)]
            writer.write_table(pa.Table.from_pandas(piece, schema=schema, preserve_index=False))
    whole = (31 * 8 + 12) * rows  # the parsed file held at once as Arrow arrays: 31 float64 and an id
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path), str(tmp_path), str(chunk_rows)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    print(
        f"\n{rows:,} rows: stage {measured['stage_seconds']:.1f} s,"
        f" commit {measured['commit_seconds']:.1f} s,"
        f" peak RSS growth {measured['stage_growth'] / 2**20:.0f} MB staging,"
        f" {measured['peak_growth'] / 2**20:.0f} MB overall; whole file {whole / 2**20:.0f} MB"
    )
    assert measured["rows"] == rows
    assert measured["chunks"] == 20
    assert measured["peak_growth"] < whole / 2
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_rows == rows
