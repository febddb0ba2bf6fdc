"""This host's disk, processes and threads: the embedded mode's adapters.

The folder object store and the keyed cache seals, in-process events and jobs, the local retrain launcher
and its lock, signals held through atomic stages, the API clients key file, and feedback/ (the
prediction-log wrapper that indexes scored ids for the feedback store on a background thread).
"""

from fraud_detection.infrastructure.local.object_store import LocalObjectStore

__all__ = ["LocalObjectStore"]
