"""MLflow adapters: experiment tracking (runs, artifacts, logged models) and the model registry."""

from fraud_detection.infrastructure.mlflow.connection import TrackingStoreUnavailableError
from fraud_detection.infrastructure.mlflow.registry import MlflowModelRegistry
from fraud_detection.infrastructure.mlflow.tracker import MlflowExperimentTracker

__all__ = ["MlflowExperimentTracker", "MlflowModelRegistry", "TrackingStoreUnavailableError"]
