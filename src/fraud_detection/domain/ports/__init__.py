"""Ports: the abstract interfaces use cases depend on; adapters in `infrastructure/` implement them."""

from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.model_cache import ModelCache
from fraud_detection.domain.ports.modelling import FraudModel, ModelTrainer
from fraud_detection.domain.ports.plotting import EvaluationPlotter
from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.sources import TransactionSource
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.ports.telemetry import ScoringTelemetry
from fraud_detection.domain.ports.tracking import ExperimentTracker, TrackingRun
from fraud_detection.domain.ports.validation import DataValidator

__all__ = [
    "DataValidator",
    "DatasetStore",
    "EvaluationPlotter",
    "EventPublisher",
    "ExperimentTracker",
    "FraudModel",
    "ModelCache",
    "ModelRegistry",
    "ModelTrainer",
    "ObjectStore",
    "PredictionBatch",
    "PredictionLog",
    "ScoringTelemetry",
    "TrackingRun",
    "TransactionSource",
]
