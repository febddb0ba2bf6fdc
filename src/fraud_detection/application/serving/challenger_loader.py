"""Keep the holder's challenger in step with the rollout state the registry holds.

Read on every refresh (start, poll, admin reload). A state that cannot be read keeps the current snapshot
(logged and counted): serving never stops for the rollout. An active rollout's challenger is loaded with the
champion's checks (feature version and threshold here, digests in the registry adapter); a load that fails
is counted and the champion serves alone until a later refresh loads it. A rollout that ended (champion or
rolled back) drops the challenger; when it was promoted, the champion refresh loads it as the champion.
"""

from __future__ import annotations

import logging
import time

from fraud_detection.application.serving.compatibility import compatible_threshold
from fraud_detection.application.serving.model_holder import REGISTRY, ModelHolder, ServingModel, Snapshot
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.ports.telemetry import ScoringTelemetry
from fraud_detection.domain.rollout import Rollout, Stage

logger = logging.getLogger(__name__)


class ChallengerLoader:
    def __init__(
        self,
        registry: ModelRegistry,
        holder: ModelHolder,
        telemetry: ScoringTelemetry,
        rollouts: RolloutStore,
    ) -> None:
        self._registry, self._holder, self._telemetry, self._rollouts = registry, holder, telemetry, rollouts
        self.last_read: Rollout | None = None  # the state as last read (None before, or when never any)

    def refresh(self) -> tuple[bool, str]:
        """(whether the snapshot changed, what happened). Never raises."""
        try:
            rollout = self._rollouts.load()
        except Exception as error:  # registry down, a malformed tag: keep serving what is loaded
            self._telemetry.rollout_failed("read")
            logger.warning("rollout state unreadable: %s: %s", type(error).__name__, error)
            return False, f"rollout state unreadable, kept as it was: {type(error).__name__}: {error}"
        self.last_read = rollout
        snapshot = self._holder.snapshot
        if not self._serves(rollout, snapshot):
            return self._drop(snapshot, _ended(rollout))
        assert rollout is not None
        current = snapshot.challenger
        if current is not None and current.version.version == rollout.challenger:
            self._holder.set_challenger(current, rollout)
            self._report(rollout)
            return snapshot.rollout != rollout, f"challenger v{rollout.challenger} in {rollout.where}"
        return self._load(rollout, snapshot)

    def promoted_elsewhere(self) -> bool:
        """The last state read promoted a challenger that is not this process's champion yet."""
        rollout, champion = self.last_read, self._holder.current
        return (
            rollout is not None
            and rollout.stage is Stage.CHAMPION
            and (champion is None or champion.version.version != rollout.challenger)
        )

    def _serves(self, rollout: Rollout | None, snapshot: Snapshot) -> bool:
        champion = snapshot.champion
        return (
            rollout is not None
            and rollout.active
            and champion is not None
            and rollout.model_name == champion.version.name
            and rollout.challenger != champion.version.version
        )

    def _load(self, rollout: Rollout, snapshot: Snapshot) -> tuple[bool, str]:
        try:
            version = self._registry.get(rollout.challenger)
            threshold = compatible_threshold(version)
            model = self._registry.load_model(version)
        except Exception as error:  # unreachable, refused or corrupt artifact, wrong features
            self._telemetry.rollout_failed("load")
            detail = f"loading challenger v{rollout.challenger} failed: {type(error).__name__}: {error}"
            logger.error("%s; the champion serves alone", detail)
            changed, _ = self._drop(snapshot, "")
            return changed, f"{detail}; the champion serves alone"
        self._holder.set_challenger(ServingModel(version, model, threshold, REGISTRY, time.time()), rollout)
        self._report(rollout)
        logger.info("challenger %s loaded, in %s", version.label, rollout.where)
        return True, f"challenger v{rollout.challenger} loaded, in {rollout.where}"

    def _drop(self, snapshot: Snapshot, detail: str) -> tuple[bool, str]:
        if snapshot.challenger is not None:
            self._holder.set_challenger(None, None)
            logger.info(
                "challenger v%d dropped: %s", snapshot.challenger.version.version, detail or "no load"
            )
        self._report(None)
        return snapshot.challenger is not None, detail

    def _report(self, rollout: Rollout | None) -> None:
        if rollout is None:
            self._telemetry.rollout_state("none", 0.0, None)
        else:
            self._telemetry.rollout_state(
                str(rollout.stage), rollout.canary_percent, rollout.challenger, rollout.started_at
            )


def _ended(rollout: Rollout | None) -> str:
    if rollout is None:
        return "no rollout"
    if rollout.active:
        return f"rollout of v{rollout.challenger} not servable here"
    # "rollout of v2 champion" read as a rollout still under way, long after it ended
    outcome = "completed" if rollout.stage is Stage.CHAMPION else str(rollout.stage).replace("_", " ")
    return f"no active rollout (the last, of v{rollout.challenger}, {outcome})"
