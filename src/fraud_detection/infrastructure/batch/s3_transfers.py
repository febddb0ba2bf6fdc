"""The batch files' S3 side: look at an input cheaply, open a Parquet input for ranged reads, download
other inputs for streaming, upload the output.

The client is built on first use, so a deployment that only reads local files never needs S3 settings.
Outages surface as `ServiceUnavailableError` (worth a retry), a missing object as `DataSourceError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.errors import DataSourceError, InvalidDataError, ObjectNotFoundError
from fraud_detection.domain.ports.jobs import InputDescription
from fraud_detection.infrastructure.batch.input_description import HEAD_BYTES, describe_head
from fraud_detection.infrastructure.batch.s3_ranges import S3RangeReader, read_range
from fraud_detection.infrastructure.s3.errors import s3_errors
from fraud_detection.infrastructure.s3.uri import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Transfers:
    def __init__(self, client_factory: Callable[[], S3Client]) -> None:
        self._client_factory = client_factory
        self._client: S3Client | None = None

    def describe(self, location: S3Location) -> InputDescription:
        """HEAD for the size, one ranged GET for the first bytes, and for Parquet the footer."""
        client = self._s3(location.uri)
        with _missing_object(location.uri), s3_errors("read", location.uri):
            size = client.head_object(Bucket=location.bucket, Key=location.key)["ContentLength"]
            head = read_range(client, location, 0, HEAD_BYTES - 1) if size else b""

        def footer() -> pq.ParquetFile:
            return pq.ParquetFile(S3RangeReader(client, location, size))

        return describe_head(head, len(head) >= size, location.uri, footer)

    def open_parquet(self, location: S3Location) -> pq.ParquetFile:
        """The Parquet object as a file whose every read is a ranged GET: the footer now, then only the
        row groups and columns a reader asks for (HEAD for the size first)."""
        client = self._s3(location.uri)
        with _missing_object(location.uri), s3_errors("read", location.uri):
            size = client.head_object(Bucket=location.bucket, Key=location.key)["ContentLength"]
        with _missing_object(location.uri):
            try:
                return pq.ParquetFile(S3RangeReader(client, location, size))
            except (pa.ArrowException, OSError) as error:
                message = " ".join(str(error).split()) or type(error).__name__
                raise InvalidDataError(location.uri, f"not a readable Parquet file ({message})") from error

    def download(self, location: S3Location, target: Path) -> None:
        """Streamed to disk (in parallel ranges for large objects), never held in memory."""
        client = self._s3(location.uri)
        with _missing_object(location.uri), s3_errors("download", location.uri), target.open("wb") as out:
            client.download_fileobj(location.bucket, location.key, out)

    def upload(self, path: Path, location: S3Location) -> None:
        """One `upload_file`: its multipart upload appears whole when complete, replacing any old object."""
        client = self._s3(location.uri)
        with s3_errors("upload to", location.uri):
            client.upload_file(str(path), location.bucket, location.key)

    def _s3(self, uri: str) -> S3Client:
        if self._client is None:
            try:
                self._client = self._client_factory()
            except ValueError as error:  # botocore's answer to a malformed endpoint URL or region
                raise DataSourceError(f"{uri}: invalid S3 settings ({error})") from error
        return self._client


@contextmanager
def _missing_object(uri: str) -> Iterator[None]:
    try:
        yield
    except ObjectNotFoundError as error:
        raise DataSourceError(f"{uri}: no such S3 object") from error
