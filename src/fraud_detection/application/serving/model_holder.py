"""The model being served, swapped atomically: a request reads `current` once and uses that model throughout,
so a reload never fails a request or mixes two versions in one response."""

from __future__ import annotations

from dataclasses import dataclass

from fraud_detection.domain.errors import ModelNotReadyError
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.modelling import FraudModel

REGISTRY = "registry"
LOCAL_CACHE = "local-cache"


@dataclass(frozen=True)
class ServingModel:
    version: ModelVersion
    model: FraudModel
    threshold: float
    source: str  # REGISTRY or LOCAL_CACHE
    loaded_at: float  # Unix seconds


class ModelHolder:
    def __init__(self) -> None:
        self._current: ServingModel | None = None

    @property
    def current(self) -> ServingModel | None:
        return self._current

    def require(self) -> ServingModel:
        current = self._current
        if current is None:
            raise ModelNotReadyError(
                "no model is loaded yet: no champion registered, or it could not be loaded"
            )
        return current

    def swap(self, serving: ServingModel) -> None:
        # One reference assignment: atomic under the GIL, so readers see the old model or the new one.
        self._current = serving
