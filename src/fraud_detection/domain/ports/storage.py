"""Object storage by key: the local folder and S3 adapters implement it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from fraud_detection.domain.errors import ObjectNotFoundError


class ObjectStore(ABC):
    """Keys are '/'-separated relative paths ('raw/ab12.parquet'). Writes are atomic: a reader sees the
    old object, or the whole new one, never a part. Reads stream, so large objects need not fit in memory.
    Missing keys raise `ObjectNotFoundError`."""

    @abstractmethod
    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream over the object."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing any object there, atomically."""

    @abstractmethod
    def create_bytes(self, key: str, data: bytes) -> bool:
        """Store `data` under `key` only where no object is: True when this call created it, False when the
        key was taken (then nothing is written). Atomic against concurrent writers, unlike `exists` then
        `write_bytes`: of two clients creating the same key, exactly one gets True."""

    @abstractmethod
    def write_file(self, key: str, path: Path) -> None:
        """Upload a local file under `key` atomically, streaming it (no full read into memory)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys under `prefix`, in lexical order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    @abstractmethod
    def uri_for(self, key: str) -> str:
        """Where a human or another tool finds the object: `file:///...` or `s3://bucket/...`."""

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    def read_many(self, keys: Iterable[str]) -> Generator[tuple[str, bytes | None]]:
        """Each key with its bytes, in the order given; None for a key deleted since it was listed. Other
        errors raise. What reading many small objects (an hour of capture files) goes through: an adapter
        whose every read waits on the network should keep several in flight; this default reads one by
        one."""
        for key in keys:
            yield key, self.read_or_none(key)

    def delete_many(self, keys: Iterable[str]) -> None:
        """`delete` of each key (missing ones are not an error): what removing an hour's merged capture
        files goes through. An adapter with a batch delete should use it; this default deletes one by one."""
        for key in keys:
            self.delete(key)

    def read_or_none(self, key: str) -> bytes | None:
        """`read_bytes`, or None for a missing key (one of `read_many`'s answers)."""
        try:
            return self.read_bytes(key)
        except ObjectNotFoundError:
            return None
