"""Load the champion from the registry (or, when the registry fails, the verified local copy) and swap it in.

A failed load never replaces a serving model: the current one keeps serving and the failure is counted.
Any registry failure (unreachable, 401/403 after a credential rotation, a corrupt SQLite file, a refused
artifact) while nothing is served falls back to the local copy, which the cache adapter verifies before
returning it; without a usable copy the service stays live and not ready. `refresh` is called at start, by
the poller, and by the admin reload; a lock keeps two refreshes from loading the same version at once.

With a RolloutStore, each refresh also reads the rollout (see challenger_loader.py): the challenger of an
active rollout is loaded beside the champion, and dropped when the rollout ends.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass, replace

from fraud_detection.application.serving.challenger_loader import ChallengerLoader
from fraud_detection.application.serving.compatibility import compatible_threshold
from fraud_detection.application.serving.model_holder import LOCAL_CACHE, REGISTRY, ModelHolder, ServingModel
from fraud_detection.domain.errors import IncompatibleModelError, ServiceUnavailableError
from fraud_detection.domain.model import CHAMPION, ModelVersion
from fraud_detection.domain.ports.model_cache import ModelCache
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.ports.telemetry import ScoringTelemetry

__all__ = ["ChampionLoader", "RefreshFailure", "RefreshOutcome", "compatible_threshold"]

logger = logging.getLogger(__name__)


class RefreshFailure(enum.Enum):
    """Why a refresh did not end with the registry's champion serving (an admin reload answers 5xx)."""

    REGISTRY = "registry"  # unreachable or failing: worth retrying
    MODEL = "model"  # the champion's artifact was refused (corrupt, incompatible): retrying will not help
    NO_CHAMPION = "no champion"  # no version has the alias: retry once one is promoted


@dataclass(frozen=True)
class RefreshOutcome:
    changed: bool
    detail: str
    failure: RefreshFailure | None = None


class ChampionLoader:
    def __init__(
        self,
        registry: ModelRegistry,
        cache: ModelCache,
        holder: ModelHolder,
        telemetry: ScoringTelemetry,
        alias: str = CHAMPION,
        rollouts: RolloutStore | None = None,
    ) -> None:
        self._registry, self._cache, self._holder = registry, cache, holder
        self._telemetry, self._alias = telemetry, alias
        self._lock = threading.Lock()
        self.registry_reachable: bool | None = None  # None until the first refresh
        self._challengers = ChallengerLoader(registry, holder, telemetry, rollouts) if rollouts else None

    def refresh(self, wait: float | None = None) -> RefreshOutcome:
        """The champion, then the rollout's challenger. With `wait`, gives up after that many seconds if
        another refresh is under way (the poller's, stuck on a registry that does not answer): an admin
        reload queued behind it took minutes, past a load balancer's idle timeout."""
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            serving = self._holder.current
            still = f"; still serving v{serving.version.version}" if serving else ""
            busy = f"another refresh has been under way for over {wait:g} s (a registry slow to answer)"
            detail = f"{busy}{still}"
            return RefreshOutcome(False, detail, RefreshFailure.REGISTRY)
        try:
            outcome = self._refresh_champion()
            if self._challengers is None:
                return outcome
            if outcome.failure is RefreshFailure.REGISTRY:  # the rollout's state lives there too: its read
                # would fail the same way, after as long again (~46 s for a host that never answers)
                return replace(outcome, detail=f"{outcome.detail}; rollout state kept as it was")
            changed, detail = self._challengers.refresh()
            return RefreshOutcome(outcome.changed or changed, f"{outcome.detail}; {detail}", outcome.failure)
        finally:
            self._lock.release()

    def refresh_rollout(self) -> RefreshOutcome:
        """The rollout's challenger only (between champion polls); a rollout that just promoted its
        challenger refreshes the champion at once, so replicas agree within one rollout poll."""
        if self._challengers is None:
            return RefreshOutcome(False, "no rollout store")
        with self._lock:
            changed, detail = self._challengers.refresh()
            if not self._challengers.promoted_elsewhere():
                return RefreshOutcome(changed, detail)
            outcome = self._refresh_champion()
            return RefreshOutcome(outcome.changed or changed, f"{detail}; {outcome.detail}", outcome.failure)

    def _refresh_champion(self) -> RefreshOutcome:
        try:
            version = self._registry.get_by_alias(self._alias)
        except ServiceUnavailableError as error:
            self.registry_reachable = False
            logger.warning("model registry unreachable: %s", error)
            return self._fall_back_to_cache(f"registry unreachable: {error}", RefreshFailure.REGISTRY)
        except Exception as error:  # auth, a corrupt store, a bug: the service must stay up regardless
            self.registry_reachable = False
            logger.error("model registry failed: %s: %s", type(error).__name__, error)
            return self._fall_back_to_cache(
                f"registry failed: {type(error).__name__}: {error}", RefreshFailure.REGISTRY
            )
        self.registry_reachable = True
        if version is None:
            return RefreshOutcome(
                False, f"no version has the alias '{self._alias}' yet", RefreshFailure.NO_CHAMPION
            )
        current = self._holder.current
        if current is not None and current.version.version == version.version and current.source == REGISTRY:
            return RefreshOutcome(False, f"v{version.version} already serving")
        # Serving the local copy of this version: the registry's is loaded, and checked, before it is called
        # the registry's. A version refused at start (its tags edited) stays refused, and counted, at every
        # poll, instead of being relabelled as served from the registry once the registry answers.
        return self._load(version)

    def _load(self, version: ModelVersion) -> RefreshOutcome:
        try:
            threshold = compatible_threshold(version)
            model = self._registry.load_model(version)
        except Exception as error:  # network, refused or corrupt artifact, wrong features: keep the current
            detail = f"loading {version.label} failed: {type(error).__name__}: {error}"
            if self._holder.current is not None:
                serving = self._holder.current.version.version
                return self._failed(f"{detail}; still serving v{serving}", RefreshFailure.MODEL)
            outcome = self._fall_back_to_cache(detail, RefreshFailure.MODEL)  # the verified local copy
            if outcome.changed:  # else `_failed` already counted and logged it
                self._telemetry.model_load_failed(detail)
                logger.error("%s", detail)
            return outcome
        previous = self._holder.current
        self._holder.swap(ServingModel(version, model, threshold, REGISTRY, time.time()))
        self._telemetry.model_loaded(version, REGISTRY)
        try:
            self._cache.save(version, model)
        except Exception:  # the cache only matters for the next restart: serve on, say why
            logger.exception("could not keep a local copy of %s", version.label)
        was = f" (was v{previous.version.version})" if previous else ""
        if previous is not None and previous.version.version == version.version:
            was = " from the registry (was its local copy)"
        logger.info("serving %s%s", version.label, was)
        return RefreshOutcome(True, f"now serving v{version.version}{was}")

    def _fall_back_to_cache(self, reason: str, failure: RefreshFailure) -> RefreshOutcome:
        if self._holder.current is not None:
            serving = self._holder.current.version.version
            return RefreshOutcome(False, f"{reason}; still serving v{serving}", failure)
        try:
            cached = self._cache.load()
        except Exception as error:  # the adapter verifies and returns None; anything else is no copy either
            logger.exception("the local model copy could not be read")
            return self._failed(f"{reason}; local copy unreadable: {type(error).__name__}: {error}", failure)
        if cached is None:
            return self._failed(f"{reason}; and no local copy of a model", failure)
        version, model = cached
        try:
            threshold = compatible_threshold(version)
        except IncompatibleModelError as error:
            return self._failed(f"{reason}; local copy unusable: {error}", failure)
        self._holder.swap(ServingModel(version, model, threshold, LOCAL_CACHE, time.time()))
        self._telemetry.model_loaded(version, LOCAL_CACHE)
        logger.warning("serving the local copy of %s: %s", version.label, reason)
        return RefreshOutcome(True, f"{reason}; serving the local copy of v{version.version}", failure)

    def _failed(self, detail: str, failure: RefreshFailure) -> RefreshOutcome:
        self._telemetry.model_load_failed(detail)
        logger.error("%s", detail)
        return RefreshOutcome(False, detail, failure)
