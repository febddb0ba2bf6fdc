"""Experiment tracking: one run per training, holding params, metrics, reports, plots and the model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fraud_detection.domain.model import ModelMetadata

if TYPE_CHECKING:  # annotations only: the model registry's commands (`fraud model list`) load no frame
    import pandas as pd

    from fraud_detection.domain.ports.modelling import FraudModel


class TrackingRun(ABC):
    @property
    @abstractmethod
    def run_id(self) -> str: ...

    @property
    @abstractmethod
    def location(self) -> str:
        """Where a person finds the run (UI URL or artifact folder)."""

    @abstractmethod
    def log_params(self, params: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...

    @abstractmethod
    def set_tags(self, tags: Mapping[str, str]) -> None: ...

    @abstractmethod
    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> None:
        """Store as JSON (or YAML by suffix) under the run's artifacts."""

    @abstractmethod
    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store an artifact such as a PNG plot or an HTML report."""

    @abstractmethod
    def log_model(self, model: FraudModel, metadata: ModelMetadata, input_example: pd.DataFrame) -> str:
        """Log the model with signature, input example and metadata; return its URI for registration."""


@dataclass(frozen=True)
class RunRecord:
    """A run as the tracking store holds it: what `fraud model show` reports of a version's run."""

    run_id: str
    status: str  # FINISHED, FAILED, KILLED, RUNNING
    started: str  # ISO 8601, UTC; "" when unknown
    ended: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


class ExperimentTracker(ABC):
    @abstractmethod
    def start_run(self, run_name: str, tags: Mapping[str, str]) -> AbstractContextManager[TrackingRun]:
        """Open a run; it ends FINISHED on normal exit and FAILED when the block raises."""

    @abstractmethod
    def run_record(self, run_id: str) -> RunRecord | None:
        """The run as recorded; None when the store has no such run (deleted, or another store's)."""
