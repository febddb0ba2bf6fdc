"""Ports: the abstract interfaces use cases depend on; adapters in `infrastructure/` implement them.

Exports are resolved on first access (PEP 562), so importing one port (the registry's, say) does not
import every other port's dependencies (pandas for the dataset store): a CLI command pays only for what
it uses.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraud_detection.domain.ports.datasets import DatasetStore
    from fraud_detection.domain.ports.events import EventPublisher
    from fraud_detection.domain.ports.model_cache import ModelCache
    from fraud_detection.domain.ports.modelling import FraudModel, ModelTrainer
    from fraud_detection.domain.ports.plotting import EvaluationPlotter
    from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
    from fraud_detection.domain.ports.registry import ModelCatalog, ModelRegistry
    from fraud_detection.domain.ports.sources import TransactionSource
    from fraud_detection.domain.ports.storage import ObjectStore
    from fraud_detection.domain.ports.telemetry import ScoringTelemetry
    from fraud_detection.domain.ports.tracking import ExperimentTracker, TrackingRun
    from fraud_detection.domain.ports.validation import DataValidator

_MODULE_OF = {
    "DataValidator": "validation",
    "DatasetStore": "datasets",
    "EvaluationPlotter": "plotting",
    "EventPublisher": "events",
    "ExperimentTracker": "tracking",
    "FraudModel": "modelling",
    "ModelCache": "model_cache",
    "ModelCatalog": "registry",
    "ModelRegistry": "registry",
    "ModelTrainer": "modelling",
    "ObjectStore": "storage",
    "PredictionBatch": "prediction_log",
    "PredictionLog": "prediction_log",
    "ScoringTelemetry": "telemetry",
    "TrackingRun": "tracking",
    "TransactionSource": "sources",
}
__all__ = [
    "DataValidator",
    "DatasetStore",
    "EvaluationPlotter",
    "EventPublisher",
    "ExperimentTracker",
    "FraudModel",
    "ModelCache",
    "ModelCatalog",
    "ModelRegistry",
    "ModelTrainer",
    "ObjectStore",
    "PredictionBatch",
    "PredictionLog",
    "ScoringTelemetry",
    "TrackingRun",
    "TransactionSource",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
