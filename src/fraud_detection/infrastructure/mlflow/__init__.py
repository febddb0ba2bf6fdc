"""MLflow adapters: experiment tracking (runs, artifacts, logged models), the model registry, and a
read-only catalog of the registry's SQLite store.

Exports are resolved on first access (PEP 562): importing `sqlite_catalog` must not import MLflow itself.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraud_detection.infrastructure.mlflow.connection import TrackingStoreUnavailableError
    from fraud_detection.infrastructure.mlflow.registry import MlflowModelRegistry
    from fraud_detection.infrastructure.mlflow.tracker import MlflowExperimentTracker

_EXPORTS = {
    "MlflowExperimentTracker": "tracker",
    "MlflowModelRegistry": "registry",
    "TrackingStoreUnavailableError": "connection",
}
__all__ = ["MlflowExperimentTracker", "MlflowModelRegistry", "TrackingStoreUnavailableError"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
