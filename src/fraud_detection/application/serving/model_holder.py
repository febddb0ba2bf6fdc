"""The models being served, swapped atomically: a request reads one snapshot (the champion and, while a
rollout is active, the challenger with the rollout) and uses it throughout, so a reload never fails a request
or mixes two champion versions in one response."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from fraud_detection.domain.errors import ModelNotReadyError
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.rollout import Rollout

REGISTRY = "registry"
LOCAL_CACHE = "local-cache"


@dataclass(frozen=True)
class ServingModel:
    version: ModelVersion
    model: FraudModel
    threshold: float
    source: str  # REGISTRY or LOCAL_CACHE
    loaded_at: float  # Unix seconds


@dataclass(frozen=True)
class Snapshot:
    """What one request scores with. `challenger` and `rollout` are both set (an active rollout whose
    challenger loaded) or both None."""

    champion: ServingModel | None = None
    challenger: ServingModel | None = None
    rollout: Rollout | None = None

    def require(self) -> ServingModel:
        if self.champion is None:
            raise ModelNotReadyError(
                "no model is loaded yet: no champion registered, or it could not be loaded"
            )
        return self.champion


class ModelHolder:
    def __init__(self) -> None:
        self._snapshot = Snapshot()
        self._write = threading.Lock()  # writers read-modify-write; readers never wait

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def current(self) -> ServingModel | None:
        """The champion."""
        return self._snapshot.champion

    def require(self) -> ServingModel:
        return self._snapshot.require()

    def swap(self, serving: ServingModel) -> None:
        """A new champion; a challenger of the same version (just promoted) is dropped with its rollout."""
        with self._write:
            now = self._snapshot
            if now.challenger is not None and now.challenger.version.version == serving.version.version:
                now = Snapshot()
            # One reference assignment: atomic under the GIL, so readers see the old snapshot or the new one.
            self._snapshot = replace(now, champion=serving)

    def set_challenger(self, challenger: ServingModel | None, rollout: Rollout | None) -> None:
        """The challenger and its rollout (or neither: the champion serves alone)."""
        if (challenger is None) != (rollout is None):
            raise ValueError("a challenger is served with its rollout, or neither is")
        with self._write:
            self._snapshot = replace(self._snapshot, challenger=challenger, rollout=rollout)
