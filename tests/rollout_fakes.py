"""An in-memory RolloutStore and captured rows for both models, for unit tests of the rollout use cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from fraud_detection.domain.errors import RegistryAccessDeniedError, ServiceUnavailableError
from fraud_detection.domain.ports.drift import CapturedRows
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.rollout import Rollout, ensure_unchanged

START = datetime(2026, 11, 1, tzinfo=UTC)


class FakeRolloutStore(RolloutStore):
    """Keeps every saved state, as JSON round trips (what the registry tag does to it)."""

    def __init__(self) -> None:
        self.saved: list[Rollout] = []
        self.down = False
        self.read_only = False  # writes refused, as the registry answers the API's read-only identity

    def load(self) -> Rollout | None:
        self._reachable()
        return self.saved[-1] if self.saved else None

    def save(self, rollout: Rollout, *, replacing: Rollout | None) -> None:
        self._reachable()
        if self.read_only:
            raise RegistryAccessDeniedError("registry at fake:// refused this request (403)")
        ensure_unchanged(self.saved[-1] if self.saved else None, replacing)
        self.saved.append(Rollout.from_dict(rollout.to_dict()))

    def _reachable(self) -> None:
        if self.down:
            raise ServiceUnavailableError("rollout store at fake:// is unreachable")


def scored(
    ids: list[str | None] | np.ndarray,
    probabilities: list[float] | np.ndarray,
    version: int,
    name: str = "fake-model",
    threshold: float = 0.5,
    start: datetime = START,
    model_ms: list[float] | np.ndarray | None = None,
) -> CapturedRows:
    """Rows of one version, scored a second apart from `start`, with their transaction ids (and the model's
    time per row: not measured unless given)."""
    p = np.asarray(probabilities, dtype=np.float64)
    n = len(p)
    moment = np.datetime64(start.replace(tzinfo=None), "us")
    return CapturedRows(
        inputs=np.zeros((n, 29)),
        probabilities=p,
        decisions=np.nan_to_num(p, nan=0.0) >= threshold,
        model_names=np.full(n, name).astype(str),
        model_versions=np.full(n, version, dtype=np.int64),
        scored_at=moment + np.arange(n) * np.timedelta64(timedelta(seconds=1)),
        transaction_ids=np.asarray(list(ids), dtype=object),
        times=np.full(n, np.nan),
        model_ms=np.full(n, np.nan) if model_ms is None else np.asarray(model_ms, dtype=np.float64),
    )


def joined(*parts: CapturedRows) -> CapturedRows:
    """Several captures as one, in order."""

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(part, name) for part in parts])

    return CapturedRows(
        inputs=cat("inputs"), probabilities=cat("probabilities"), decisions=cat("decisions"),
        model_names=cat("model_names"), model_versions=cat("model_versions"), scored_at=cat("scored_at"),
        transaction_ids=cat("transaction_ids"), times=cat("times"), model_ms=cat("model_ms"),
    )  # fmt: skip
