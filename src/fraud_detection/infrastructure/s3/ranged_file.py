"""A seekable, read-only file over one S3 object where every read is a ranged GET.

pyarrow finds a Parquet file's schema and row count in its footer, a few KB at the end: through this
view it reads just those bytes, so describing a 5 GB input downloads almost nothing. Every read names the
object version its HEAD saw (`If-Match` on the ETag): an input replaced between two reads of one file (the
footer, then its row groups) is refused, where the reads would have mixed two files.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.infrastructure.s3.errors import s3_errors
from fraud_detection.infrastructure.s3.uri import S3Location

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from mypy_boto3_s3 import S3Client


def read_range(client: S3Client, location: S3Location, start: int, end: int, etag: str = "") -> bytes:
    """Bytes `start` to `end` inclusive (fewer when the object is shorter), of the version `etag` names
    when given (`InvalidDataError` once the object was replaced)."""
    condition: dict[str, Any] = {"IfMatch": etag} if etag else {}
    with s3_errors("read", location.uri):
        try:
            response = client.get_object(
                Bucket=location.bucket, Key=location.key, Range=f"bytes={start}-{end}", **condition
            )
        except ClientError as error:
            if etag and error.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412"}:
                raise InvalidDataError(
                    location.uri, "the input changed while it was read (replaced between two reads)"
                ) from error
            raise
        return response["Body"].read()


class S3RangeReader(io.RawIOBase):
    def __init__(self, client: S3Client, location: S3Location, size: int, etag: str = "") -> None:
        """`size` and `etag` from the object's HEAD: every read is of that version."""
        self._client, self._location, self._size, self._etag = client, location, size, etag
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size or not len(view):
            return 0
        end = min(self._position + len(view), self._size) - 1
        data = read_range(self._client, self._location, self._position, end, self._etag)
        view[: len(data)] = data
        self._position += len(data)
        return len(data)
