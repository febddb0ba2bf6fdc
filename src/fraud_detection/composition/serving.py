"""Online scoring: API clients, the champion held in memory, capture of every prediction."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.model_scoring import ChallengerChaos
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.application.serving.rollout_scoring import RolloutScoring
from fraud_detection.application.serving.rollout_stats import RolloutRecorder
from fraud_detection.application.serving.runtime import ServingRuntime
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.application.serving.shadow import ShadowScorer
from fraud_detection.composition.adapters import cache_key
from fraud_detection.domain.ports.rollout import SHADOW_CAPTURE_PREFIX
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from fraud_detection.domain.ports import ModelCache, ObjectStore, PredictionLog, ScoringTelemetry
    from fraud_detection.domain.ports.clients import ClientSource
    from fraud_detection.domain.ports.feedback import FeedbackStore
    from fraud_detection.domain.ports.registry import ModelRegistry
    from fraud_detection.domain.ports.rollout import RolloutStore


def make_model_cache(settings: Settings) -> ModelCache:
    from fraud_detection.infrastructure.lightgbm.model_cache import LightGBMModelCache

    return LightGBMModelCache(settings.model_cache_dir, cache_key(settings))


def make_prediction_log(
    store: ObjectStore, settings: Settings, shadow: bool = False, feedback: FeedbackStore | None = None
) -> PredictionLog:
    """The capture log; `shadow`: the one of dark scores, under SHADOW_CAPTURE_PREFIX with its own spill
    folder and journal (a journal's recovery writes under its log's prefix) and without the capture
    metrics (their gauges describe the served capture). `feedback`: the store the served log's ids are
    indexed in (make_indexing_prediction_log), told of the rows recovered from a killed process's journal."""
    from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
    from fraud_detection.infrastructure.local.feedback.indexing_log import index_recovered
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusCaptureTelemetry

    local_store = not settings.resolved_storage_uri.startswith("s3://")
    spill_dir = settings.resolved_capture_spill_dir
    return ParquetPredictionLog(
        store,
        max_rows=settings.capture_max_rows,
        max_seconds=settings.capture_max_seconds,
        prefix=SHADOW_CAPTURE_PREFIX if shadow else "predictions",
        max_pending_bytes=settings.capture_max_pending_bytes,
        spill_dir=spill_dir / SHADOW_CAPTURE_PREFIX if shadow else spill_dir,
        spill_max_bytes=settings.capture_spill_max_bytes,
        journal_seconds=settings.capture_journal_seconds,
        retention_days=settings.capture_retention_days if local_store else 0.0,
        telemetry=None if shadow else PrometheusCaptureTelemetry(),
        on_recovered=partial(index_recovered, feedback) if feedback is not None else None,
    )


def make_rollout_store(settings: Settings, registry: ModelRegistry) -> RolloutStore | None:
    """The rollout state kept with the MLflow registry (a registered-model tag and the challenger alias).
    A registry substituted by a test has none: tests that need one override `rollout_store`."""
    if not type(registry).__module__.startswith("fraud_detection.infrastructure.mlflow."):
        return None
    from fraud_detection.infrastructure.mlflow.rollout_store import MlflowRolloutStore

    return MlflowRolloutStore(settings.resolved_tracking_uri, settings.model_name)


def make_scoring_telemetry() -> ScoringTelemetry:
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusScoringTelemetry

    return PrometheusScoringTelemetry()


def make_indexing_prediction_log(log: PredictionLog, store: FeedbackStore) -> PredictionLog:
    from fraud_detection.infrastructure.local.feedback.indexing_log import IndexingPredictionLog
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusFeedbackIndexTelemetry

    return IndexingPredictionLog(log, store, telemetry=PrometheusFeedbackIndexTelemetry())


def make_rollout_scoring(
    store: RolloutStore | None,
    shadow: Callable[[], ShadowScorer],
    recorder: RolloutRecorder,
    chaos: ChallengerChaos,
    share: float,
    canary_dark_share: float,
) -> RolloutScoring | None:
    """None without a rollout store: no shadow log, no worker, scoring as it always was."""
    if store is None:
        return None
    return RolloutScoring(shadow(), recorder, chaos, share, canary_dark_share=canary_dark_share)


def make_client_source(settings: Settings) -> ClientSource:
    if settings.api_clients_secret:
        from fraud_detection.infrastructure.aws.secrets_manager import SecretsManagerClients

        return SecretsManagerClients(
            settings.api_clients_secret, settings.aws_region, settings.api_clients_refresh_seconds
        )
    from fraud_detection.infrastructure.local.client_key_file import KeyFileClients

    return KeyFileClients(settings.resolved_api_clients_file)


class Serving(containers.DeclarativeContainer):
    """One of each per serving process."""

    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    api_clients = providers.Singleton(make_client_source, settings)
    model_cache = providers.Singleton(make_model_cache, settings)
    scoring_telemetry = providers.Singleton(make_scoring_telemetry)
    prediction_log = providers.Singleton(
        make_prediction_log, adapters.object_store, settings, feedback=adapters.feedback_store
    )
    # Scoring captures through this: the capture log above, wrapped to record scored transaction ids in the
    # feedback store off the request path (tests that override `prediction_log` still get it wrapped).
    indexed_prediction_log = providers.Singleton(
        make_indexing_prediction_log, prediction_log, adapters.feedback_store
    )
    model_holder = providers.Singleton(ModelHolder)
    # Staged promotion: the rollout state, dark scores (not indexed for feedback: the served capture has
    # every transaction id already), the shadow worker, and the scoring of an active rollout.
    rollout_store = providers.Singleton(make_rollout_store, settings, adapters.registry)
    shadow_prediction_log = providers.Singleton(make_prediction_log, adapters.object_store, settings, True)
    rollout_recorder = providers.Singleton(RolloutRecorder, scoring_telemetry)
    challenger_chaos = providers.Singleton(
        ChallengerChaos,
        settings.provided.chaos_challenger_error_rate,
        delay_ms=settings.provided.chaos_challenger_delay_ms,
    )
    shadow_scorer = providers.Singleton(
        ShadowScorer,
        shadow_prediction_log,
        rollout_recorder,
        settings.provided.rollout_shadow_queue_max,
        settings.provided.rollout_shadow_budget_ms,
        challenger_chaos,
    )
    rollout_scoring = providers.Singleton(
        make_rollout_scoring,
        rollout_store,
        shadow_scorer.provider,
        rollout_recorder,
        challenger_chaos,
        settings.provided.rollout_shadow_share,
        settings.provided.rollout_canary_dark_share,
    )
    champion_loader = providers.Singleton(
        ChampionLoader,
        adapters.registry,
        model_cache,
        model_holder,
        scoring_telemetry,
        rollouts=rollout_store,
    )
    score_transactions = providers.Singleton(
        ScoreTransactions,
        model_holder,
        indexed_prediction_log,
        scoring_telemetry,
        settings.provided.top_reasons,
        rollout_scoring,
    )
    runtime = providers.Singleton(
        ServingRuntime,
        champion_loader,
        indexed_prediction_log,
        settings.provided.model_poll_seconds,
        settings.provided.rollout_poll_seconds,
        model_holder,
        rollout_scoring,
    )
    request_retrain = providers.Factory(RequestRetrain, adapters.publisher, adapters.retrain_busy)
