"""What the scoring use cases report for monitoring (Prometheus in production, nothing in unit tests)."""

from __future__ import annotations

import numpy as np

from fraud_detection.domain.model import ModelVersion


class ScoringTelemetry:
    """The base class records nothing."""

    def scores(self, probabilities: np.ndarray, decisions: np.ndarray) -> None:
        """Rows just scored."""

    def model_loaded(self, version: ModelVersion, source: str) -> None:
        """A model started serving; `source` is 'registry' or 'local-cache'."""

    def model_load_failed(self, reason: str) -> None:
        """A load was attempted and failed; the previous model (if any) keeps serving."""
