"""Staged promotion: the rollout state in the registry, the live evidence, and the use cases that move it.

Other entry points call `get_container().rollout.evaluate()(apply=False)` (status) or
`get_container().rollout.abort()("reason")`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.rollout import (
    AbortRollout,
    AdvanceRollout,
    EvaluateRollout,
    GatherEvidence,
    StartRollout,
)
from fraud_detection.domain.ports.rollout import SHADOW_CAPTURE_PREFIX
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from fraud_detection.domain.ports import ObjectStore
    from fraud_detection.domain.ports.drift import CapturedPredictions, ReferenceProfiles
    from fraud_detection.domain.ports.rollout import RolloutStore


def make_rollout_store(settings: Settings) -> RolloutStore:
    """With the registry (a tag on the registered model), so every replica reads the same state."""
    from fraud_detection.infrastructure.mlflow.rollout_store import MlflowRolloutStore

    if settings.mlflow_tracking_uri is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    return MlflowRolloutStore(settings.resolved_tracking_uri, settings.model_name)


def make_shadow_captured(store: ObjectStore) -> CapturedPredictions:
    from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow

    return PredictionLogWindow(store, SHADOW_CAPTURE_PREFIX)


def positive_weights(profiles: ReferenceProfiles, model_name: str) -> Callable[[int], float]:
    """A version's positive weight from its reference profile (1.0 without one), each read once."""
    found: dict[int, float] = {}

    def weight(version: int) -> float:
        if version not in found:
            profile = profiles.load(model_name, version)
            found[version] = profile.positive_weight if profile else 1.0
        return found[version]

    return weight


def staged_start(
    settings: Settings, start: Callable[[], StartRollout]
) -> Callable[[int, str], object] | None:
    """What the promotion gate calls instead of moving the champion alias, under FRAUD_PROMOTION_MODE=staged
    (None, the direct promotion, otherwise; the rollout store is then never built)."""
    if settings.promotion_mode != "staged":
        return None

    def begin(version: int, reason: str) -> object:
        return start()(version, reason=reason)

    return begin


class Rollout(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    policy = providers.Singleton(lambda settings: settings.rollout_policy, settings)
    store = providers.Singleton(make_rollout_store, settings)
    shadow_captured = providers.Singleton(make_shadow_captured, adapters.object_store)
    gather = providers.Factory(
        GatherEvidence,
        served=adapters.captured_predictions,
        shadow=shadow_captured,
        feedback=adapters.feedback_store,
        positive_weight=providers.Factory(
            positive_weights, adapters.reference_profiles, settings.provided.model_name
        ),
    )
    start = providers.Factory(StartRollout, adapters.registry, store, adapters.publisher)
    advance = providers.Factory(
        AdvanceRollout, adapters.registry, store, adapters.publisher, policy, gather=gather
    )
    abort = providers.Factory(AbortRollout, adapters.registry, store, adapters.publisher, gather=gather)
    evaluate = providers.Factory(
        EvaluateRollout,
        store=store,
        gather=gather,
        policy=policy,
        registry=adapters.registry,
        publisher=adapters.publisher,
        reports=adapters.reports,
    )
