"""A local copy of the model being served, so a restart while the registry is down still serves it."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.modelling import FraudModel


class ModelCache(ABC):
    @abstractmethod
    def save(self, version: ModelVersion, model: FraudModel) -> None:
        """Replace the cached copy atomically."""

    @abstractmethod
    def load(self) -> tuple[ModelVersion, FraudModel] | None:
        """The cached copy, or None when there is none (or it is unreadable)."""
