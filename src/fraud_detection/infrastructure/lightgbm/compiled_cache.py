"""Compiled forests on disk: one file per key, sealed with a keyed HMAC, checked before use, replaced whole.

A cached forest is machine code that LLVM loads and runs, so a file is used only after it passes every
check, before any of its bytes reach LLVM: a regular file owned by this user and writable by nobody else,
with the v2 header and an HMAC-SHA256 (see `cache_seal`: per-deployment key `FRAUD_CACHE_KEY`, else a 0600
key file in this folder) over its payload and key. An unkeyed digest, as in v1, only caught damage: anyone
able to write the folder could recompute it. A file that fails is removed and counts as a miss (the caller
compiles again and overwrites it). Writes go to a temporary file (mode 0600) in the same folder and are
renamed into place, so workers compiling the same model at once never leave a torn file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from functools import cached_property
from pathlib import Path

from fraud_detection.domain.errors import UntrustedModelError
from fraud_detection.infrastructure.local.cache_seal import SEAL_SIZE, CacheSeal, private_folder, read_private

logger = logging.getLogger(__name__)

MAGIC = b"fraud-detection compiled forest v2 hmac-sha256\n"
SUFFIX = ".forest"
PURPOSE = "compiled-forest"


class CompiledObjectCache:
    def __init__(self, directory: Path, secret: str | None = None) -> None:
        self._directory = directory
        self._secret = secret

    @cached_property
    def _seal(self) -> CacheSeal:
        """Resolved on first use: building the accelerator must not touch the disk."""
        return CacheSeal.for_folder(self._directory, PURPOSE, self._secret)

    def path(self, key: str) -> Path:
        return self._directory / f"{key}{SUFFIX}"

    def load(self, key: str) -> bytes | None:
        """The stored object, or None when there is none or it fails a check (it is then removed)."""
        path = self.path(key)
        try:
            data = read_private(path)
        except UntrustedModelError as error:
            self._refuse(key, str(error))
            return None
        except OSError as error:
            logger.warning("cannot read the compiled forest %s (%s); compiling again", path, error)
            return None
        if data is None:
            return None
        header, payload = data[: len(MAGIC) + SEAL_SIZE], data[len(MAGIC) + SEAL_SIZE :]
        seal = header[len(MAGIC) :]
        if not header.startswith(MAGIC) or not payload or not self._seal.verify(key, payload, seal):
            self._refuse(key, f"{path}: damaged, of an old format or not sealed with this deployment's key")
            return None
        return payload

    def store(self, key: str, payload: bytes) -> None:
        private_folder(self._directory)
        seal = self._seal.seal(key, payload)
        descriptor, name = tempfile.mkstemp(dir=self._directory, prefix=f".{key}-", suffix=".tmp")  # 0600
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(MAGIC + seal + payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, self.path(key))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def discard(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _refuse(self, key: str, reason: str) -> None:
        logger.warning("refused the cached compiled forest (%s); compiling again", reason)
        try:
            self.discard(key)
        except OSError as error:
            logger.warning("cannot remove the refused forest %s: %s", self.path(key), error)
