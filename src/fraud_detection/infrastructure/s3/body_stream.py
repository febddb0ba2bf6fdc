"""A GetObject body as an ordinary buffered binary file (context manager, `read`, `readline`, iteration).

botocore's `StreamingBody` is not a full `io` object; pandas and pyarrow accept it more reliably, and
errors in mid-stream surface as domain errors, once it sits behind `io.BufferedReader`. It is not
seekable: readers needing random access (Parquet) copy it to a temporary file first.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from fraud_detection.infrastructure.s3.errors import s3_errors

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from botocore.response import StreamingBody

_BUFFER_SIZE = 1024 * 1024


class _BodyReader(io.RawIOBase):
    def __init__(self, body: StreamingBody, uri: str) -> None:
        self._body = body
        self._uri = uri

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with s3_errors("read", self._uri):
            chunk = self._body.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def readall(self) -> bytes:
        with s3_errors("read", self._uri):
            return self._body.read()

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_body_stream(body: StreamingBody, uri: str) -> io.BufferedReader:
    return io.BufferedReader(_BodyReader(body, uri), buffer_size=_BUFFER_SIZE)
