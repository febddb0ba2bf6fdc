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

    # Staged promotion. `role`: champion (served by the champion), canary (served by the challenger) or
    # shadow (scored in the dark, by whichever model did not answer; `version` says which).

    def rollout_state(
        self, stage: str, percent: float, challenger: int | None, started_at: float | None = None
    ) -> None:
        """This process's view: stage 'none', 'shadow' or 'canary', the canary share, the challenger, when
        its rollout started (Unix seconds)."""

    def rollout_scored(self, role: str, version: int, rows: int, alerts: int, seconds: float) -> None:
        """One request part scored by one model in `seconds` (model time only)."""

    def rollout_errors(self, role: str, version: int, rows: int) -> None:
        """Challenger scorings that failed, were dropped over budget or for a full queue."""

    def shadow_dropped(self, reason: str, rows: int) -> None:
        """Dark scorings not done: reason 'queue_full' or 'over_budget'."""

    def rollout_failed(self, what: str) -> None:
        """Reading the rollout state ('read') or loading its challenger ('load') failed; serving goes on."""
