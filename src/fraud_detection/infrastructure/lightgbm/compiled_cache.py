"""Compiled forests on disk: one file per key, verified by a digest before use, replaced atomically.

LLVM trusts the object bytes it is handed, so a truncated or damaged file could crash the worker instead of
raising. Each file therefore carries a SHA-256 of its payload, and anything that fails the check counts as a
miss (the caller compiles again and overwrites it). Writes go to a temporary file in the same folder and are
renamed into place, so workers compiling the same model at once never leave a torn file: the last rename
wins and both objects are valid.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

MAGIC = b"fraud-detection compiled forest v1\n"
DIGEST_SIZE = hashlib.sha256().digest_size
SUFFIX = ".forest"


class CompiledObjectCache:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def path(self, key: str) -> Path:
        return self._directory / f"{key}{SUFFIX}"

    def load(self, key: str) -> bytes | None:
        """The stored object, or None when there is none or it fails its digest check."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning("cannot read the compiled forest %s (%s); compiling again", path, error)
            return None
        header, payload = data[: len(MAGIC) + DIGEST_SIZE], data[len(MAGIC) + DIGEST_SIZE :]
        if header != MAGIC + hashlib.sha256(payload).digest() or not payload:
            logger.warning("the compiled forest %s is damaged (bad header or digest); compiling again", path)
            return None
        return payload

    def store(self, key: str, payload: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self._directory, prefix=f".{key}-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(MAGIC + hashlib.sha256(payload).digest() + payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, self.path(key))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def discard(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
