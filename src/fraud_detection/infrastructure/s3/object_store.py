"""The object store on S3 or an S3-compatible server, through boto3."""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import ClientError

from fraud_detection.domain.errors import DataSourceError, ObjectNotFoundError, ServiceUnavailableError
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.s3.body_stream import open_body_stream
from fraud_detection.infrastructure.s3.client import MAX_POOL_CONNECTIONS, make_s3_client
from fraud_detection.infrastructure.s3.errors import KEY_TAKEN, s3_errors
from fraud_detection.infrastructure.s3.uri import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef, ObjectIdentifierTypeDef

# GETs `read_many` keeps in flight. benchmarks/capture_files.py: a day of one replica's capture files
# (17,280 at one every 5 s) at 20 ms a GET took ~7 minutes one by one; 16 at once, under a minute.
READ_AHEAD = 16
DELETE_BATCH = 1_000  # the most keys one DeleteObjects request takes
WRITER_METADATA = "fraud-writer"  # the token of the `create_bytes` call that made an object
# Waits of `create_bytes` after a conditional PUT met another one under way (409) that has not landed yet.
CREATE_WAITS = (0.05, 0.25, 1.0)


class S3ObjectStore(ObjectStore):
    """Keys live under `prefix` in `bucket`. A PUT is atomic in S3 and a multipart upload only appears
    when it completes, so readers never see part of an object."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client or make_s3_client(endpoint_url=endpoint_url, region=region)
        self._read_ahead = max(1, min(read_ahead, MAX_POOL_CONNECTIONS))

    @classmethod
    def from_uri(
        cls,
        uri: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
    ) -> S3ObjectStore:
        """`s3://bucket/prefix` -> a store rooted at that prefix."""
        location = S3Location.parse(uri)
        return cls(location.bucket, location.key, endpoint_url=endpoint_url, region=region, client=client)

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        full_key = self._full_key(key)
        uri = self.uri_for(key)
        with s3_errors("read", uri):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=full_key)
            except ClientError as error:
                if _refused(error) and self._missing(full_key):
                    raise ObjectNotFoundError(f"no object at {uri}") from error
                raise
        return open_body_stream(response["Body"], uri)

    def read_many(self, keys: Iterable[str]) -> Generator[tuple[str, bytes | None]]:
        """Up to `read_ahead` GETs in flight on a thread pool (boto3 clients are thread-safe), answered in
        the order of `keys`; what is read ahead is bounded, so memory follows `read_ahead` files, not the
        window. A caller that stops early cancels what has not started. Hand-written: the standard
        library's `Executor.map` submits every key at once."""
        if self._read_ahead == 1:
            yield from super().read_many(keys)
            return
        with ThreadPoolExecutor(self._read_ahead, thread_name_prefix="s3-read") as pool:
            pending: deque[tuple[str, Future[bytes | None]]] = deque()
            try:
                for key in keys:
                    pending.append((key, pool.submit(self.read_or_none, key)))
                    if len(pending) >= self._read_ahead:
                        first, read = pending.popleft()
                        yield first, read.result()
                while pending:
                    first, read = pending.popleft()
                    yield first, read.result()
            finally:
                for _, read in pending:
                    read.cancel()

    def write_bytes(self, key: str, data: bytes) -> None:
        with s3_errors("write", self.uri_for(key)):
            self._client.put_object(Bucket=self.bucket, Key=self._full_key(key), Body=data)

    def create_bytes(self, key: str, data: bytes) -> bool:
        """A conditional PUT (`If-None-Match: *`, which S3 has honoured since 2024), tagged with a token of
        this call. botocore retries a PUT whose answer was lost (a read timeout, a 5xx after the write):
        the retry meets this call's own object, and was taken for another writer's, so a submit was refused
        as "exists" while its record stayed behind, never queued. The token tells the two apart. A 409 (a
        conditional write under way) leaves no object yet: waited for (CREATE_WAITS), the other write lands
        (the key is taken) or fails (this one is tried again)."""
        token, full_key = uuid.uuid4().hex, self._full_key(key)
        with s3_errors("write", self.uri_for(key)):
            for wait in (*CREATE_WAITS, None):
                try:
                    self._client.put_object(
                        Bucket=self.bucket,
                        Key=full_key,
                        Body=data,
                        IfNoneMatch="*",
                        Metadata={WRITER_METADATA: token},
                    )
                    return True
                except ClientError as error:
                    if str(error.response.get("Error", {}).get("Code")) not in KEY_TAKEN:
                        raise
                holder = self._writer(full_key)
                if holder is not None:
                    return holder == token
                if wait is not None:
                    time.sleep(wait)
        raise ServiceUnavailableError(
            f"cannot create {self.uri_for(key)}: another conditional write to it was still under way "
            f"after {sum(CREATE_WAITS):g} s"
        )

    def _writer(self, full_key: str) -> str | None:
        """The creating call's token ("" for an object written otherwise); None when there is no object."""
        head = self._head(full_key)
        return None if head is None else head.get("Metadata", {}).get(WRITER_METADATA, "")

    def _head(self, full_key: str) -> HeadObjectOutputTypeDef | None:
        """The object's HEAD, or None when there is no object."""
        try:
            return self._client.head_object(Bucket=self.bucket, Key=full_key)
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            if _refused(error) and self._missing(full_key):
                return None
            raise

    def _missing(self, full_key: str) -> bool:
        """Whether a key S3 refused to read (403) is simply absent. S3 answers 404 for a missing key only to
        a caller allowed to list the bucket; the task roles may list only their prefixes (a condition on
        `s3:prefix`), which a GET carries none of, so every read of a missing key (a job's marks, a report
        not written yet) may come back 403 on AWS. A listing of that very key tells; a listing refused too
        leaves the 403 as it was."""
        try:
            listed = self._client.list_objects_v2(Bucket=self.bucket, Prefix=full_key, MaxKeys=1)
        except ClientError:
            return False
        return not any(item.get("Key") == full_key for item in listed.get("Contents", []))

    def write_file(self, key: str, path: Path) -> None:
        # upload_file streams from disk and switches to multipart (parallel parts) above 8 MB.
        with s3_errors("upload to", self.uri_for(key)):
            self._client.upload_file(str(path), self.bucket, self._full_key(key))

    def exists(self, key: str) -> bool:
        with s3_errors("check", self.uri_for(key)):
            return self._head(self._full_key(key)) is not None

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self._client.get_paginator("list_objects_v2")
        with s3_errors("list", f"s3://{self.bucket}/{base}{prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for item in page.get("Contents", []):
                    yield item["Key"][len(base) :]

    def delete(self, key: str) -> None:
        with s3_errors("delete", self.uri_for(key)):
            self._client.delete_object(Bucket=self.bucket, Key=self._full_key(key))

    def delete_many(self, keys: Iterable[str]) -> None:
        """DeleteObjects, 1,000 keys a request (S3's limit): an hour's capture files at one request, not
        one each. A key S3 reports it could not delete raises, naming the first."""
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, keys: list[str]) -> None:
        objects: list[ObjectIdentifierTypeDef] = [{"Key": self._full_key(key)} for key in keys]
        with s3_errors(
            "delete", self.uri_for(keys[0]) + (f" and {len(keys) - 1:,} more" if len(keys) > 1 else "")
        ):
            response = self._client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": objects, "Quiet": True},
            )
        if errors := response.get("Errors"):
            first = errors[0]
            more = f" ({len(errors) - 1:,} more keys failed)" if len(errors) > 1 else ""
            problem = f"{first.get('Code')} {first.get('Message')}{more}"
            raise DataSourceError(f"cannot delete s3://{self.bucket}/{first.get('Key')}: {problem}")

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full_key(key)}"

    def _full_key(self, key: str) -> str:
        # The same key rules as the local store, so data moves between the two without surprises.
        if any(segment in ("", ".", "..") or "\\" in segment for segment in key.split("/")):
            raise ValueError(f"invalid object key {key!r}: use a relative 'a/b/c' path inside the store")
        return f"{self.prefix}/{key}" if self.prefix else key


def _refused(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in {"AccessDenied", "403", "Forbidden"}
