"""The model a job pins at planning time, loaded once per process and version (and accelerated)."""

from __future__ import annotations

import threading

from fraud_detection.application.serving.champion_loader import compatible_threshold
from fraud_detection.domain.errors import ModelNotFoundError, UntrustedModelError
from fraud_detection.domain.model import VERSION_MAX, ModelVersion
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.ports.registry import ModelRegistry


class JobModels:
    def __init__(self, registry: ModelRegistry, accelerator: ModelAccelerator) -> None:
        self._registry, self._accelerator = registry, accelerator
        self._loaded: dict[int, tuple[float, FraudModel]] = {}  # version -> its checked threshold, model
        self._lock = threading.Lock()

    def resolve(self, model: str) -> tuple[ModelVersion, float]:
        """'champion' (any alias) or a version number -> the version and its decision threshold."""
        if model.isascii() and model.isdecimal():  # not "１" (a full-width digit) as version 1
            number = int(model)
            # past the registry's integers: 2**63 failed the job as `internal` (SQLite's overflow)
            version = self._registry.get(number) if number <= VERSION_MAX else None
            if version is None:
                raise ModelNotFoundError(f"no model version {model}")
        else:
            version = self._registry.get_by_alias(model)
            if version is None:
                raise ModelNotFoundError(f"no model version has the alias '{model}'")
        return version, compatible_threshold(version)

    def get(self, version: int, threshold: float) -> FraudModel:
        """The version's model, once the threshold the job was planned with (read from the registry's tags,
        which anyone with MLflow write access can edit) is the one sealed in its artifact: the registry
        adapter checks the tags it is given against the artifact, and a model already loaded in this
        process is held with the threshold checked then."""
        with self._lock:
            if version not in self._loaded:
                found = self._registry.get(version)
                model = self._registry.load_model(found)
                accelerated = self._accelerator.accelerate(found, model)
                self._loaded[version] = (compatible_threshold(found), accelerated)
            checked, model = self._loaded[version]
        if checked != threshold:
            raise UntrustedModelError(
                f"v{version}'s threshold was {threshold} in the registry when the job was planned, "
                f"{checked} in its artifact: a tag was edited; the job is not scored (set the tag back, "
                "then submit the job again)"
            )
        return model
