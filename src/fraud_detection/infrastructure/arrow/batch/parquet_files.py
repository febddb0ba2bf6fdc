"""The BatchFiles adapter: a Parquet input (local or s3://) is read in place, each chunk task reading its
own row groups; other inputs (CSV, CSV.gz, Parquet with row groups far larger than a chunk) are streamed
into Arrow IPC chunks in the shared work store. Scored parts sit beside them, and the output is one zstd
Parquet file that appears atomically and never replaces anything. Memory follows the chunk size, never the
input size.

Inputs and outputs are confined to the configured roots (`BatchRoots`): every URI is placed under a root
before anything is opened, local files are reached with no symlink below the root (`confined_files`), and
whatever cannot be read (outside the roots, missing, a symlink, denied) gets one uniform refusal.

Work store layout (the job records under jobs/<id>/ belong to the job store and are left alone):
    jobs/<id>/input/<n:06d>.arrow   staged chunk n: V1..V28, Amount (float64) [, transaction_id]
    jobs/<id>/parts/<n:06d>.arrow   scores of chunk n, as the use case built them
A chunk read in place has no staged file: its key is the input's URI, which `clean` never touches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.batch_roots import BatchRoots, Direction, Placement
from fraud_detection.domain.errors import DataSourceError, InvalidDataError, LocationNotAllowedError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.jobs import STORED_JOB_ID, Chunk
from fraud_detection.domain.ports.jobs import BatchFiles, ChunkRows, InputDescription
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.batch.confined_files import (
    OutputExistsError,
    created_output,
    exists,
    opened_input,
    output_taken,
)
from fraud_detection.infrastructure.arrow.batch.input_batches import TRANSACTION_ID, input_batches
from fraud_detection.infrastructure.arrow.batch.input_description import describe_local_file
from fraud_detection.infrastructure.arrow.batch.output_files import concatenate, written_by
from fraud_detection.infrastructure.arrow.batch.rebatch import fixed_size_tables
from fraud_detection.infrastructure.arrow.batch.row_group_plan import plan_in_place
from fraud_detection.infrastructure.arrow.batch.row_group_reads import read_row_groups
from fraud_detection.infrastructure.arrow.batch.s3_transfers import S3Transfers
from fraud_detection.infrastructure.arrow.batch.scratch import scratch_folder
from fraud_detection.infrastructure.arrow.batch.work_files import SUFFIX, load_table, store_table
from fraud_detection.infrastructure.s3.client import make_s3_client
from fraud_detection.infrastructure.s3.uri import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "jobs"


class ParquetBatchFiles(BatchFiles):
    """`s3_client_factory` wins over `endpoint_url`/`region`; the client is built on the first s3:// URI.
    `scratch_dir` holds temporary files (downloaded S3 inputs, chunks before upload, outputs before
    upload) and is created when missing; default: the system's temp folder. `roots` confine every input
    and output."""

    def __init__(
        self,
        work: ObjectStore,
        *,
        roots: BatchRoots,
        endpoint_url: str | None = None,
        region: str | None = None,
        s3_client_factory: Callable[[], S3Client] | None = None,
        scratch_dir: Path | None = None,
    ) -> None:
        self._work = work
        self._s3 = S3Transfers(
            s3_client_factory or partial(make_s3_client, endpoint_url=endpoint_url, region=region)
        )
        self._scratch_dir = scratch_dir
        self._roots = roots

    def describe(self, input_uri: str) -> InputDescription:
        placement = self._roots.place(input_uri, Direction.INPUT)
        refusal = self._roots.refusal(input_uri, Direction.INPUT)
        if placement.is_s3:
            return self._s3.describe(_s3(placement), refusal)
        with opened_input(placement, refusal) as path:
            return describe_local_file(path, input_uri)

    def stage(self, job_id: str, input_uri: str, chunk_rows: int) -> Iterator[Chunk]:
        """Chunks over the input's own row groups when it is Parquet and they fit; staged files otherwise."""
        placement = self._roots.place(input_uri, Direction.INPUT)
        refusal = self._roots.refusal(input_uri, Direction.INPUT)
        if not placement.is_s3:
            with opened_input(placement, refusal) as path:
                in_place = self._plan_in_place(path, input_uri, chunk_rows)
                if in_place is not None:
                    yield from in_place
                    return
                yield from self._stage_file(job_id, path, input_uri, chunk_rows)
            return
        location = _s3(placement)
        in_place = self._plan_in_place(location, input_uri, chunk_rows)
        if in_place is not None:
            yield from in_place
            return
        with scratch_folder(self._scratch_dir) as folder:
            self._s3.download(location, folder / "input", refusal)
            yield from self._stage_file(job_id, folder / "input", input_uri, chunk_rows)

    def read_chunk(self, chunk: Chunk) -> ChunkRows:
        if chunk.row_groups:
            placement = self._roots.place(chunk.key, Direction.INPUT)
            if placement.is_s3:
                return read_row_groups(self._open_parquet(_s3(placement), chunk.key), chunk)
            with opened_input(placement, self._roots.refusal(chunk.key, Direction.INPUT)) as path:
                return read_row_groups(self._open_parquet(path, chunk.key), chunk)
        table = load_table(self._work, chunk.key, f"staged chunk {chunk.index}")
        inputs = np.empty((table.num_rows, len(SCORING_INPUTS)), dtype=np.float64)
        for position, name in enumerate(SCORING_INPUTS):
            inputs[:, position] = table.column(name).to_numpy()
        has_ids = TRANSACTION_ID in table.column_names
        return ChunkRows(inputs, table.column(TRANSACTION_ID).to_numpy() if has_ids else None)

    def write_part(self, job_id: str, chunk: Chunk, columns: dict[str, np.ndarray]) -> None:
        table = pa.table({name: _arrow_array(values) for name, values in columns.items()})
        store_table(self._work, _key(job_id, "parts", chunk.index), table, self._scratch_dir)

    def commit(self, job_id: str, chunks: tuple[Chunk, ...], output_uri: str) -> int:
        """The output appears whole under a name nothing had: an existing file or object is never
        replaced (`OutputExistsError`), except that a commit run again finds the output it wrote before."""
        placement = self._roots.place(output_uri, Direction.OUTPUT)
        refusal = self._roots.refusal(output_uri, Direction.OUTPUT)
        earlier = self._earlier_output(placement, refusal, job_id)
        if earlier is not None:
            return earlier
        parts = (self._part(job_id, chunk) for chunk in chunks)
        try:
            if not placement.is_s3:
                with created_output(placement, refusal, job_id) as temp:
                    return concatenate(parts, temp, job_id)
            with scratch_folder(self._scratch_dir) as folder:
                rows = concatenate(parts, folder / "output.parquet", job_id)
                self._s3.upload_new(folder / "output.parquet", _s3(placement), job_id, rows)
            return rows
        except OutputExistsError:
            earlier = self._earlier_output(placement, refusal, job_id)
            if earlier is None:
                raise
            return earlier

    def check_output(self, job_id: str, output_uri: str) -> None:
        placement = self._roots.place(output_uri, Direction.OUTPUT)
        self._earlier_output(placement, self._roots.refusal(output_uri, Direction.OUTPUT), job_id)

    def _earlier_output(
        self, placement: Placement, refusal: LocationNotAllowedError, job_id: str
    ) -> int | None:
        """Rows of this job's own output already in place (a commit run again); None when the name is
        free; `OutputExistsError` when anything else has it."""
        if placement.is_s3:
            writer = self._s3.written_by(_s3(placement))
            if writer is None:
                return None
            if writer[0] == job_id:
                return writer[1]
            raise exists(placement.uri)
        if not output_taken(placement, refusal):
            return None
        try:
            with opened_input(placement, exists(placement.uri)) as path:
                mine = written_by(path)
        except OutputExistsError:
            mine = None
        if mine is not None and mine[0] == job_id:
            return mine[1]
        raise exists(placement.uri)

    def clean(self, job_id: str) -> None:
        for folder in ("input", "parts"):
            for key in list(self._work.list_keys(f"{_job_prefix(job_id)}/{folder}/")):
                self._work.delete(key)

    def _stage_file(self, job_id: str, path: Path, source: str, chunk_rows: int) -> Iterator[Chunk]:
        batches = input_batches(path, source, describe_local_file(path, source))
        first_row = 0
        for index, table in enumerate(fixed_size_tables(batches, chunk_rows)):
            key = _key(job_id, "input", index)
            store_table(self._work, key, table, self._scratch_dir)
            yield Chunk(index, key, table.num_rows, first_row)
            first_row += table.num_rows

    def _plan_in_place(self, location: Path | S3Location, uri: str, chunk_rows: int) -> list[Chunk] | None:
        """`location` is a local path already opened through the roots, or an S3 object under them."""
        if isinstance(location, Path):
            description = describe_local_file(location, uri)
        else:
            description = self._s3.describe(location, self._roots.refusal(uri, Direction.INPUT))
        if description.format != "parquet":
            return None
        return plan_in_place(self._open_parquet(location, uri), uri, chunk_rows)

    def _open_parquet(self, location: Path | S3Location, uri: str) -> pq.ParquetFile:
        if not isinstance(location, Path):
            return self._s3.open_parquet(location, self._roots.refusal(uri, Direction.INPUT))
        try:
            return pq.ParquetFile(location)
        except (pa.ArrowException, OSError) as error:
            message = " ".join(str(error).split()) or type(error).__name__
            raise InvalidDataError(uri, f"not a readable Parquet file ({message})") from error

    def _part(self, job_id: str, chunk: Chunk) -> pa.Table:
        key = _key(job_id, "parts", chunk.index)
        what = f"the scores of chunk {chunk.index} of job '{job_id}'"
        table = load_table(self._work, key, what)
        if table.num_rows != chunk.rows:
            raise DataSourceError(
                f"{what} hold {table.num_rows} rows, expected {chunk.rows} ({self._work.uri_for(key)})"
            )
        return table


def _s3(placement: Placement) -> S3Location:
    return S3Location(placement.bucket, placement.key)


def _job_prefix(job_id: str) -> str:
    if not STORED_JOB_ID.fullmatch(job_id):
        raise ValueError(f"invalid job id {job_id!r}")
    return f"{PREFIX}/{job_id}"


def _key(job_id: str, folder: str, index: int) -> str:
    return f"{_job_prefix(job_id)}/{folder}/{index:06d}{SUFFIX}"


def _arrow_array(values: np.ndarray) -> pa.Array:
    """Text columns (numpy str or object arrays) are stored as Parquet strings."""
    return pa.array(values, type=pa.string()) if values.dtype.kind in "OUS" else pa.array(values)
