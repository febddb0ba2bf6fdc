"""Attacks on the batch files' confinement, replayed against the real adapter (local disk, S3 under moto and
a real SeaweedFS): each one now fails safe, leaves its target untouched and says the same thing whatever
exists outside the roots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from fraud_detection.domain.batch_roots import BatchRoots
from fraud_detection.domain.errors import InvalidDataError, LocationNotAllowedError
from fraud_detection.domain.jobs import Chunk
from fraud_detection.infrastructure.arrow.batch import ParquetBatchFiles
from fraud_detection.infrastructure.arrow.batch.s3_transfers import S3Transfers
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.s3 import make_s3_client
from fraud_detection.infrastructure.s3.uri import S3Location
from tests.builders import transactions
from tests.fixtures.seaweedfs import SeaweedFS

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration
BUCKET = "lake"


class Layout:
    """FRAUD_HOME-like state beside an input root and an output root, all in the test's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.home = folder / "home"
        self.inputs, self.outputs = folder / "batch" / "in", folder / "batch" / "out"
        for path in (self.home / "store" / "jobs" / "j1", self.inputs, self.outputs, folder / "elsewhere"):
            path.mkdir(parents=True)
        self.mlflow_db = self.home / "mlflow.db"
        self.mlflow_db.write_bytes(b"SQLite format 3\x00 registry")
        self.outcome = self.home / "store" / "jobs" / "j1" / "outcome.json"
        self.outcome.write_text('{"state": "succeeded"}')
        self.secret = folder / "elsewhere" / "secret.csv"
        transactions(10).to_csv(self.secret, index=False)
        self.roots = BatchRoots(
            (str(self.inputs), f"s3://{BUCKET}/in"), (str(self.outputs), f"s3://{BUCKET}/out")
        )

    def untouched(self) -> bool:
        return (
            self.mlflow_db.read_bytes() == b"SQLite format 3\x00 registry"
            and self.outcome.read_text() == ('{"state": "succeeded"}')
        )


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path)


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = make_s3_client(region="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def files(layout: Layout, s3: S3Client) -> ParquetBatchFiles:
    work = LocalObjectStore(layout.home / "store")
    return ParquetBatchFiles(
        work, roots=layout.roots, s3_client_factory=lambda: s3, scratch_dir=layout.home / "scratch"
    )


def scored(files: ParquetBatchFiles, layout: Layout, job_id: str) -> tuple[Chunk, ...]:
    """A job's chunks with their parts written: ready to commit."""
    source = layout.inputs / f"{job_id}.csv"
    transactions(20).drop(columns=["Class"]).to_csv(source, index=False)
    chunks = tuple(files.stage(job_id, str(source), 10))
    for chunk in chunks:
        rows = np.arange(chunk.first_row, chunk.first_row + chunk.rows, dtype=np.int64)
        files.write_part(job_id, chunk, {"row": rows, "probability": np.full(chunk.rows, 0.1)})
    return chunks


@pytest.mark.parametrize(
    "target",
    [
        "/tmp/x",  # anywhere the process can write
        "{home}/mlflow.db",  # the registry: the next start failed
        "{home}/store/jobs/j1/outcome.json",  # a job's outcome: reading the job answered 500
        "{outputs}/../../home/mlflow.db",  # `..` out of the output root
        "s3://lake/elsewhere/day.parquet",  # an S3 prefix outside the roots
        "s3://lake/out/../store/x.parquet",
    ],
)
def test_outputs_outside_the_roots_are_refused_and_nothing_is_written(files, layout, target):
    chunks = scored(files, layout, "escape")
    uri = target.format(home=layout.home, outputs=layout.outputs)
    before = _contents(Path("/tmp/x"))
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        files.commit("escape", chunks, uri)
    assert layout.untouched()
    assert _contents(Path("/tmp/x")) == before


def _contents(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def test_a_symlink_planted_in_the_output_root_is_not_followed(files, layout):
    chunks = scored(files, layout, "planted")
    (layout.outputs / "day.parquet").symlink_to(layout.mlflow_db)
    (layout.outputs / "reports").symlink_to(layout.home / "store" / "jobs" / "j1", target_is_directory=True)
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        files.commit("planted", chunks, str(layout.outputs / "day.parquet"))
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        files.commit("planted", chunks, str(layout.outputs / "reports" / "outcome.json"))
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        files.commit("planted", chunks, str(layout.outputs / "reports" / "new.parquet"))
    assert layout.untouched()
    assert sorted(os.listdir(layout.home / "store" / "jobs" / "j1")) == ["outcome.json"]


def test_an_existing_output_is_never_overwritten_and_no_temporary_file_is_left(files, layout):
    chunks = scored(files, layout, "second")
    existing = layout.outputs / "day.parquet"
    existing.write_bytes(b"someone else's results")
    with pytest.raises(LocationNotAllowedError, match=r"output '.*day\.parquet' already exists"):
        files.commit("second", chunks, str(existing))
    assert existing.read_bytes() == b"someone else's results"
    assert os.listdir(layout.outputs) == ["day.parquet"]


def test_outputs_appear_in_new_subfolders_of_the_root(files, layout):
    chunks = scored(files, layout, "nested")
    assert files.commit("nested", chunks, str(layout.outputs / "2026" / "12" / "day.parquet")) == 20
    assert os.listdir(layout.outputs / "2026" / "12") == ["day.parquet"]


def test_inputs_are_no_existence_oracle(files, layout):
    """Missing, outside, a symlink out, a folder, a FIFO: the same answer (and no hang on the FIFO)."""
    (layout.inputs / "link.csv").symlink_to(layout.secret)
    (layout.inputs / "folder").mkdir()
    (layout.inputs / "linked-folder").symlink_to(layout.secret.parent, target_is_directory=True)
    os.mkfifo(layout.inputs / "pipe.csv")
    attempts = [
        str(layout.secret),  # exists, outside the roots
        str(layout.folder / "elsewhere" / "missing.csv"),  # missing, outside the roots
        str(layout.inputs / "missing.csv"),  # missing, inside
        str(layout.inputs / "link.csv"),  # a symlink inside pointing out
        str(layout.inputs / "linked-folder" / "secret.csv"),  # a symlinked folder inside
        str(layout.inputs / "folder"),
        str(layout.inputs / "pipe.csv"),
        str(layout.inputs / ".." / ".." / "elsewhere" / "secret.csv"),
        "s3://lake/in/missing.csv",
        "s3://lake/elsewhere/secret.csv",
        "/etc/passwd",
    ]
    answers = set()
    for uri in attempts:
        for step in (files.describe, lambda u: list(files.stage("oracle", u, 10))):
            with pytest.raises(LocationNotAllowedError) as refused:
                step(uri)
            answers.add(str(refused.value).replace(uri, "<input>"))
    assert len(answers) == 1, answers
    assert "not found or not allowed (inputs must sit under FRAUD_BATCH_INPUT_ROOTS" in answers.pop()


def test_an_input_swapped_for_a_symlink_after_planning_is_refused(files, layout):
    source = layout.inputs / "day.parquet"
    pq.write_table(pa.Table.from_pandas(transactions(30), preserve_index=False), source, row_group_size=10)
    chunks = tuple(files.stage("swap", str(source), 10))
    assert chunks[0].row_groups  # read in place: the chunk reopens the input
    source.unlink()
    source.symlink_to(layout.secret)
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        files.read_chunk(chunks[0])


def test_s3_outputs_are_created_never_replaced(files, layout, s3):
    chunks = scored(files, layout, "s3-out")
    s3.put_object(Bucket=BUCKET, Key="out/taken.parquet", Body=b"someone else's")
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        files.commit("s3-out", chunks, "s3://lake/out/taken.parquet")
    assert s3.get_object(Bucket=BUCKET, Key="out/taken.parquet")["Body"].read() == b"someone else's"
    assert files.commit("s3-out", chunks, "s3://lake/out/day.parquet") == 20
    assert files.commit("s3-out", chunks, "s3://lake/out/day.parquet") == 20  # a redelivered commit


@pytest.mark.parametrize("size", [100, 5 * 1024 * 1024 + 1])  # one PUT; a multipart upload of two parts
def test_the_conditional_upload_refuses_a_taken_key_under_moto(s3, tmp_path, size, monkeypatch):
    monkeypatch.setattr("fraud_detection.infrastructure.arrow.batch.s3_transfers.PART_BYTES", 5 * 1024 * 1024)
    assert_conditional_upload(S3Transfers(lambda: s3), BUCKET, tmp_path, size)


@pytest.mark.parametrize("size", [100, 5 * 1024 * 1024 + 1])
def test_the_conditional_upload_refuses_a_taken_key_on_seaweedfs(
    seaweedfs: SeaweedFS, tmp_path, size, monkeypatch
):
    monkeypatch.setattr("fraud_detection.infrastructure.arrow.batch.s3_transfers.PART_BYTES", 5 * 1024 * 1024)
    bucket = seaweedfs.create_bucket("confined")
    assert_conditional_upload(S3Transfers(seaweedfs.client), bucket, tmp_path, size)


def assert_conditional_upload(transfers: S3Transfers, bucket: str, folder: Path, size: int) -> None:
    """The race the pre-check cannot close: the key is taken between the check and the upload."""
    first, second = folder / "first", folder / "second"
    first.write_bytes(b"1" * size)
    second.write_bytes(b"2" * size)
    location = S3Location(bucket, "out/day.parquet")
    transfers.upload_new(first, location, "job-a", 1)
    with pytest.raises(LocationNotAllowedError, match="already exists"):
        transfers.upload_new(second, location, "job-b", 1)
    assert transfers.written_by(location) == ("job-a", 1)


def test_a_parquet_input_replaced_between_ranged_reads_is_refused_on_seaweedfs(
    seaweedfs: SeaweedFS, tmp_path
):
    """Each ranged GET names the ETag its HEAD saw: a replaced object is refused by a real S3 server, not
    read as the footer of one file and the row groups of another."""
    client, bucket = seaweedfs.client(), seaweedfs.create_bucket("ranged")
    for name, seed in (("first", 1), ("second", 2)):
        pq.write_table(
            pa.Table.from_pandas(transactions(2_000, seed=seed)), tmp_path / name, row_group_size=500
        )
    location = S3Location(bucket, "in/data.parquet")
    refusal = LocationNotAllowedError(location.uri)
    transfers = S3Transfers(lambda: client)
    client.upload_file(str(tmp_path / "first"), bucket, location.key)
    assert transfers.open_parquet(location, refusal).read_row_group(1).num_rows == 500  # unchanged: read
    parquet = transfers.open_parquet(location, refusal)  # the footer of the first file
    client.upload_file(str(tmp_path / "second"), bucket, location.key)
    with pytest.raises(InvalidDataError, match="the input changed while it was read"):
        parquet.read_row_group(1)
