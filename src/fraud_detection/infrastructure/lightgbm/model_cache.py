"""The served model's local copy: one JSON file (version + LightGBM's text model), replaced atomically."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from fraud_detection.domain.model import ModelMetadata, ModelVersion
from fraud_detection.domain.ports.model_cache import ModelCache
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel

logger = logging.getLogger(__name__)
FILE_NAME = "served-model.json"


class LightGBMModelCache(ModelCache):
    def __init__(self, directory: Path) -> None:
        self._path = directory / FILE_NAME

    def save(self, version: ModelVersion, model: FraudModel) -> None:
        if not isinstance(model, LightGBMFraudModel):
            raise TypeError(f"can only cache LightGBM models, got {type(model).__name__}")
        document = {"version": asdict(version), "model": model.to_text()}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self._path.parent, prefix=".served-", delete=False) as out:
            json.dump(document, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(out.name, self._path)

    def load(self) -> tuple[ModelVersion, FraudModel] | None:
        if not self._path.exists():
            return None
        try:
            document = json.loads(self._path.read_text())
            fields = document["version"]
            metadata = ModelMetadata(**fields["metadata"]) if fields.get("metadata") else None
            version = ModelVersion(**(fields | {"aliases": tuple(fields["aliases"]), "metadata": metadata}))
            return version, LightGBMFraudModel.from_text(document["model"])
        except Exception:  # a damaged copy is no copy: the caller reports "no local copy"
            logger.exception("the local model copy %s is unreadable", self._path)
            return None
