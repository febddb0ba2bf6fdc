"""Where the rollout state lives: with the registry, so every replica and the CLI read the same one."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fraud_detection.domain.rollout import Rollout

# Scores of the model that did NOT answer (the challenger in shadow and for the champion's canary-excluded
# rows; the champion for canary rows) are captured in the object store under this prefix, in the same
# layout and schema as the served ones under "predictions". A challenger scoring that failed or ran out of
# time is captured there with probability NaN and decision False, so every replica's errors are counted.
SHADOW_CAPTURE_PREFIX = "shadow"


class RolloutStore(ABC):
    """The rollout of the configured model name. The adapter keeps the challenger alias on the rollout's
    challenger while it is active, so `fraud model list` shows it too."""

    @abstractmethod
    def load(self) -> Rollout | None:
        """The current (or last finished) rollout; None when there never was one."""

    @abstractmethod
    def save(self, rollout: Rollout, *, replacing: Rollout | None) -> None:
        """Store the state if the stored one is still `replacing` (the state the caller read and decided on,
        None when there was none; compared by `Rollout.revision`), else raise RolloutConflictError and write
        nothing. Storage failures raise ServiceUnavailableError."""
