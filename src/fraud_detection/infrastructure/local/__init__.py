"""Local-disk adapters: the default object store of the embedded mode."""

from fraud_detection.infrastructure.local.object_store import LocalObjectStore

__all__ = ["LocalObjectStore"]
