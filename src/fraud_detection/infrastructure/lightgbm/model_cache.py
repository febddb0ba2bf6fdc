"""The served model's local copy: version + LightGBM's text model, sealed, replaced atomically.

It is what a restart serves while the registry cannot be read, so it is trusted only when (1) the file is a
regular file owned by this service's user and writable by nobody else, (2) its HMAC-SHA256 verifies under
the deployment's cache key (`FRAUD_CACHE_KEY`, else the 0600 key file beside it: see `cache_seal`), and
(3) the model text's SHA-256 equals the `model_sha256` digest the registry recorded for that version. A
copy failing any check is no copy: the caller reports it and stays not ready rather than serve it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import tempfile
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

from fraud_detection.domain.errors import UntrustedModelError
from fraud_detection.domain.model import MODEL_DIGEST_TAG, ModelMetadata, ModelVersion
from fraud_detection.domain.ports.model_cache import ModelCache
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.local.cache_seal import SEAL_SIZE, CacheSeal, private_folder, read_private

logger = logging.getLogger(__name__)
FILE_NAME = "served-model.json"
MAGIC = b"fraud-detection served model v2 hmac-sha256\n"
PURPOSE = "served-model"


class LightGBMModelCache(ModelCache):
    def __init__(self, directory: Path, secret: str | None = None) -> None:
        self._directory = directory
        self._path = directory / FILE_NAME
        self._secret = secret

    @cached_property
    def _seal(self) -> CacheSeal:
        return CacheSeal.for_folder(self._directory, PURPOSE, self._secret)

    def save(self, version: ModelVersion, model: FraudModel) -> None:
        if not isinstance(model, LightGBMFraudModel):
            raise TypeError(f"can only cache LightGBM models, got {type(model).__name__}")
        text = model.to_text()
        _check_digest(version, text)  # never keep a copy that could not be trusted back
        payload = json.dumps({"version": asdict(version), "model": text}).encode()
        private_folder(self._directory)
        seal = self._seal.seal(FILE_NAME, payload)
        descriptor, name = tempfile.mkstemp(dir=self._directory, prefix=".served-")  # 0600
        try:  # a failed write (disk full, EIO) left a multi-MB temp per save that nothing swept
            with os.fdopen(descriptor, "wb") as out:
                out.write(MAGIC + seal + payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, self._path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def load(self) -> tuple[ModelVersion, FraudModel] | None:
        try:
            data = read_private(self._path)
            if data is None:
                return None
            header, payload = data[: len(MAGIC) + SEAL_SIZE], data[len(MAGIC) + SEAL_SIZE :]
            if not header.startswith(MAGIC) or not self._seal.verify(
                FILE_NAME, payload, header[len(MAGIC) :]
            ):
                raise UntrustedModelError(
                    f"{self._path}: not sealed with this deployment's cache key (damaged, replaced or old)"
                )
            document = json.loads(payload)
            fields = document["version"]
            metadata = ModelMetadata(**fields["metadata"]) if fields.get("metadata") else None
            version = ModelVersion(**(fields | {"aliases": tuple(fields["aliases"]), "metadata": metadata}))
            _check_digest(version, document["model"])
            return version, LightGBMFraudModel.from_text(document["model"])
        except UntrustedModelError as error:
            logger.error("refused the local model copy: %s", error)
            return None
        except Exception:  # a damaged copy is no copy: the caller reports "no local copy"
            logger.exception("the local model copy %s is unreadable", self._path)
            return None


def _check_digest(version: ModelVersion, text: str) -> None:
    recorded = version.tags.get(MODEL_DIGEST_TAG, "")
    actual = hashlib.sha256(text.encode()).hexdigest()
    if not hmac.compare_digest(actual, recorded):
        raise UntrustedModelError(
            f"{version.label}: the model text's SHA-256 {actual} is not the registry's recorded digest "
            f"{recorded or '(none)'}"
        )
