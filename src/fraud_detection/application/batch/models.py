"""The model a job pins at planning time, loaded once per process and version (and accelerated)."""

from __future__ import annotations

import threading

from fraud_detection.application.serving.champion_loader import compatible_threshold
from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.ports.registry import ModelRegistry


class JobModels:
    def __init__(self, registry: ModelRegistry, accelerator: ModelAccelerator) -> None:
        self._registry, self._accelerator = registry, accelerator
        self._loaded: dict[int, FraudModel] = {}
        self._lock = threading.Lock()

    def resolve(self, model: str) -> tuple[ModelVersion, float]:
        """'champion' (any alias) or a version number -> the version and its decision threshold."""
        version = self._registry.get(int(model)) if model.isdecimal() else self._registry.get_by_alias(model)
        if version is None:
            raise ModelNotFoundError(f"no model version has the alias '{model}'")
        return version, compatible_threshold(version)

    def get(self, version: int) -> FraudModel:
        with self._lock:
            if version not in self._loaded:
                model = self._registry.load_model(version)
                self._loaded[version] = self._accelerator.accelerate(self._registry.get(version), model)
            return self._loaded[version]
