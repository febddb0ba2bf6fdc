"""Online scoring: API clients, the champion held in memory, capture of every prediction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.application.serving.runtime import ServingRuntime
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.composition.adapters import cache_key
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from fraud_detection.domain.ports import ModelCache, ObjectStore, PredictionLog, ScoringTelemetry
    from fraud_detection.domain.ports.clients import ClientSource
    from fraud_detection.domain.ports.feedback import FeedbackStore


def make_model_cache(settings: Settings) -> ModelCache:
    from fraud_detection.infrastructure.lightgbm.model_cache import LightGBMModelCache

    return LightGBMModelCache(settings.model_cache_dir, cache_key(settings))


def make_prediction_log(store: ObjectStore, settings: Settings) -> PredictionLog:
    from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusCaptureTelemetry

    local_store = not settings.resolved_storage_uri.startswith("s3://")
    return ParquetPredictionLog(
        store,
        max_rows=settings.capture_max_rows,
        max_seconds=settings.capture_max_seconds,
        max_pending_bytes=settings.capture_max_pending_bytes,
        spill_dir=settings.resolved_capture_spill_dir,
        spill_max_bytes=settings.capture_spill_max_bytes,
        journal_seconds=settings.capture_journal_seconds,
        retention_days=settings.capture_retention_days if local_store else 0.0,
        telemetry=PrometheusCaptureTelemetry(),
    )


def make_scoring_telemetry() -> ScoringTelemetry:
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusScoringTelemetry

    return PrometheusScoringTelemetry()


def make_indexing_prediction_log(log: PredictionLog, store: FeedbackStore) -> PredictionLog:
    from fraud_detection.infrastructure.local.feedback.indexing_log import IndexingPredictionLog

    return IndexingPredictionLog(log, store)


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
    prediction_log = providers.Singleton(make_prediction_log, adapters.object_store, settings)
    # Scoring captures through this: the capture log above, wrapped to record scored transaction ids in the
    # feedback store off the request path (tests that override `prediction_log` still get it wrapped).
    indexed_prediction_log = providers.Singleton(
        make_indexing_prediction_log, prediction_log, adapters.feedback_store
    )
    model_holder = providers.Singleton(ModelHolder)
    champion_loader = providers.Singleton(
        ChampionLoader, adapters.registry, model_cache, model_holder, scoring_telemetry
    )
    score_transactions = providers.Singleton(
        ScoreTransactions,
        model_holder,
        indexed_prediction_log,
        scoring_telemetry,
        settings.provided.top_reasons,
    )
    runtime = providers.Singleton(
        ServingRuntime, champion_loader, indexed_prediction_log, settings.provided.model_poll_seconds
    )
    request_retrain = providers.Factory(RequestRetrain, adapters.publisher)
