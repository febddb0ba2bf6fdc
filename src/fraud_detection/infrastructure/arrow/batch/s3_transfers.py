"""The batch files' S3 side: look at an input cheaply, open a Parquet input for ranged reads, download
other inputs for streaming, upload the output without ever replacing an object.

The client is built on first use, so a deployment that only reads local files never needs S3 settings.
Outages surface as `ServiceUnavailableError` (worth a retry); an input that is missing or denied raises the
caller's uniform `refusal`; an output whose key is taken raises `OutputExistsError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from fraud_detection.domain.errors import (
    DataSourceError,
    InvalidDataError,
    LocationNotAllowedError,
    ObjectNotFoundError,
)
from fraud_detection.domain.ports.jobs import InputDescription
from fraud_detection.infrastructure.arrow.batch.confined_files import exists
from fraud_detection.infrastructure.arrow.batch.input_description import HEAD_BYTES, describe_head
from fraud_detection.infrastructure.s3.errors import KEY_TAKEN, s3_errors
from fraud_detection.infrastructure.s3.ranged_file import S3RangeReader, read_range
from fraud_detection.infrastructure.s3.uri import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Outputs up to this size are one conditional PUT; larger ones a multipart upload of parts this size whose
# completion is conditional (S3 refuses either when the key exists: `If-None-Match: *`).
PART_BYTES = 64 * 1024 * 1024
JOB_METADATA, ROWS_METADATA = "fraud-job-id", "fraud-rows"


class S3Transfers:
    def __init__(self, client_factory: Callable[[], S3Client]) -> None:
        self._client_factory = client_factory
        self._client: S3Client | None = None

    def describe(self, location: S3Location, refusal: LocationNotAllowedError) -> InputDescription:
        """HEAD for the size, one ranged GET for the first bytes, and for Parquet the footer."""
        client = self._s3(location.uri)
        with _unreadable(refusal), s3_errors("read", location.uri):
            found = client.head_object(Bucket=location.bucket, Key=location.key)
            size, etag = found["ContentLength"], found.get("ETag", "")
            head = read_range(client, location, 0, HEAD_BYTES - 1, etag) if size else b""

        def footer() -> pq.ParquetFile:
            return pq.ParquetFile(S3RangeReader(client, location, size, etag))

        return describe_head(head, len(head) >= size, location.uri, footer)

    def open_parquet(self, location: S3Location, refusal: LocationNotAllowedError) -> pq.ParquetFile:
        """The Parquet object as a file whose every read is a ranged GET: the footer now, then only the
        row groups and columns a reader asks for (HEAD for the size first)."""
        client = self._s3(location.uri)
        with _unreadable(refusal), s3_errors("read", location.uri):
            found = client.head_object(Bucket=location.bucket, Key=location.key)
        with _unreadable(refusal):
            try:
                return pq.ParquetFile(
                    S3RangeReader(client, location, found["ContentLength"], found.get("ETag", ""))
                )
            except (pa.ArrowException, OSError) as error:
                message = " ".join(str(error).split()) or type(error).__name__
                raise InvalidDataError(location.uri, f"not a readable Parquet file ({message})") from error

    def download(self, location: S3Location, target: Path, refusal: LocationNotAllowedError) -> None:
        """Streamed to disk (in parallel ranges for large objects), never held in memory."""
        client = self._s3(location.uri)
        with _unreadable(refusal), s3_errors("download", location.uri), target.open("wb") as out:
            client.download_fileobj(location.bucket, location.key, out)

    def written_by(self, location: S3Location) -> tuple[str, int] | None:
        """The job id and rows recorded on the object (("", 0) when no job wrote it); None when there is
        no object."""
        client = self._s3(location.uri)
        try:
            with s3_errors("read", location.uri):
                head = client.head_object(Bucket=location.bucket, Key=location.key)
        except ObjectNotFoundError:
            return None
        metadata = head.get("Metadata", {})
        rows = metadata.get(ROWS_METADATA, "")
        return metadata.get(JOB_METADATA, ""), int(rows) if rows.isdecimal() else 0

    def upload_new(self, path: Path, location: S3Location, job_id: str, rows: int) -> None:
        """Create the object, recording the job that wrote it; `OutputExistsError` when the key is taken.
        A multipart upload becomes visible only when it completes, and is aborted on any failure."""
        client = self._s3(location.uri)
        size = path.stat().st_size
        metadata = {JOB_METADATA: job_id, ROWS_METADATA: str(rows)}
        with s3_errors("upload to", location.uri), _taken(location.uri), path.open("rb") as data:
            if size <= PART_BYTES:
                client.put_object(
                    Bucket=location.bucket,
                    Key=location.key,
                    Body=data,
                    IfNoneMatch="*",
                    Metadata=metadata,
                )
                return
            upload = client.create_multipart_upload(
                Bucket=location.bucket, Key=location.key, Metadata=metadata
            )["UploadId"]
            try:
                parts = []
                for number in range(1, (size + PART_BYTES - 1) // PART_BYTES + 1):
                    etag = client.upload_part(
                        Bucket=location.bucket,
                        Key=location.key,
                        UploadId=upload,
                        PartNumber=number,
                        Body=data.read(PART_BYTES),
                    )["ETag"]
                    parts.append({"ETag": etag, "PartNumber": number})
                client.complete_multipart_upload(
                    Bucket=location.bucket,
                    Key=location.key,
                    UploadId=upload,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                    IfNoneMatch="*",
                )
            except BaseException:
                with suppress(ClientError, BotoCoreError):
                    client.abort_multipart_upload(Bucket=location.bucket, Key=location.key, UploadId=upload)
                raise

    def _s3(self, uri: str) -> S3Client:
        if self._client is None:
            try:
                self._client = self._client_factory()
            except ValueError as error:  # botocore's answer to a malformed endpoint URL or region
                raise DataSourceError(f"{uri}: invalid S3 settings ({error})") from error
        return self._client


@contextmanager
def _unreadable(refusal: LocationNotAllowedError) -> Iterator[None]:
    """Missing, denied, no such bucket: one answer (outages still raise `ServiceUnavailableError`)."""
    try:
        yield
    except (ObjectNotFoundError, DataSourceError) as error:
        if isinstance(error, InvalidDataError):
            raise
        raise refusal from None


@contextmanager
def _taken(uri: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code")) in KEY_TAKEN:
            raise exists(uri) from None
        raise
