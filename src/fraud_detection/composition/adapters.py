"""The adapters every capability shares: storage, datasets, the registry and tracker, events, feedback.

Each factory imports its vendor SDK inside the function, so a command that needs only the registry
(`fraud model list`) does not pay Great Expectations', LightGBM's or boto3's import time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.domain.events import DriftDetected, RetrainRequested
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from fraud_detection.domain.ports import (
        DatasetStore,
        EventPublisher,
        ExperimentTracker,
        ModelCatalog,
        ModelRegistry,
        ObjectStore,
        TransactionSource,
    )
    from fraud_detection.domain.ports.drift import CapturedPredictions, ReferenceProfiles
    from fraud_detection.domain.ports.feedback import FeedbackStore
    from fraud_detection.domain.ports.jobs import JobStore
    from fraud_detection.domain.ports.prediction_log import CaptureCompaction
    from fraud_detection.domain.ports.reports import Reports
    from fraud_detection.domain.scoring_input import ScoringInput
    from fraud_detection.infrastructure.local.retrain_launcher import LaunchMode, SubprocessRetrainLauncher


def make_object_store(settings: Settings) -> ObjectStore:
    return object_store_at(settings, settings.resolved_storage_uri)


def object_store_at(settings: Settings, uri: str) -> ObjectStore:
    """A store rooted at `uri`, `s3://bucket[/prefix]` or a folder: the system's own store, or where a
    command writes a file the user named (`fraud data generate --output s3://...`)."""
    if uri.startswith("s3://"):
        from fraud_detection.infrastructure.s3 import S3ObjectStore

        return S3ObjectStore.from_uri(uri, endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
    from fraud_detection.infrastructure.local import LocalObjectStore

    return LocalObjectStore(Path(uri.removeprefix("file://")))


def make_dataset_store(store: ObjectStore) -> DatasetStore:
    from fraud_detection.infrastructure.arrow.dataset_store import ParquetDatasetStore

    return ParquetDatasetStore(store)


def make_transaction_source(settings: Settings) -> TransactionSource:
    from fraud_detection.infrastructure.arrow.sources import FileTransactionSource

    return FileTransactionSource(endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)


def make_tracker(settings: Settings) -> ExperimentTracker:
    from fraud_detection.infrastructure.mlflow import MlflowExperimentTracker
    from fraud_detection.infrastructure.mlflow.provenance import run_tags, setting_params
    from fraud_detection.settings.training import TrainingSettings

    embedded = settings.mlflow_tracking_uri is None
    if embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
    training = {name: getattr(settings, name) for name in TrainingSettings.model_fields}
    return MlflowExperimentTracker(
        settings.resolved_tracking_uri,
        settings.mlflow_experiment,
        artifact_location=settings.mlflow_artifact_root if embedded else None,
        abandoned_after=timedelta(hours=settings.mlflow_abandoned_run_hours),
        run_tags=run_tags(settings.code_commit),
        run_params=setting_params(training),
    )


def make_registry(settings: Settings) -> ModelRegistry:
    from fraud_detection.infrastructure.mlflow import MlflowModelRegistry

    if settings.mlflow_tracking_uri is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    return MlflowModelRegistry(settings.resolved_tracking_uri, settings.model_name)


def make_catalog(settings: Settings, registry: providers.Provider[ModelRegistry]) -> ModelCatalog:
    """The embedded registry's SQLite file read directly (milliseconds, no MLflow import); any other
    tracking URI, or a registry substituted by a test, lists through the registry itself."""
    if settings.mlflow_tracking_uri is None and not registry.overridden:
        from fraud_detection.infrastructure.mlflow.sqlite_catalog import SqliteModelCatalog

        database = Path(settings.resolved_tracking_uri.removeprefix("sqlite:///"))
        return SqliteModelCatalog(database, settings.model_name, registry)
    return registry()


def make_retrain_launcher(settings: Settings, retrain_launch: LaunchMode) -> SubprocessRetrainLauncher | None:
    """The local retrain that events start (the embedded mode, no event bus), or None."""
    if settings.event_bus or not settings.retrain_on_events:
        return None
    from fraud_detection.infrastructure.local.retrain_launcher import SubprocessRetrainLauncher
    from fraud_detection.infrastructure.local.retrain_lock import lock_path

    home = settings.home.resolve()
    return SubprocessRetrainLauncher(retrain_launch, home / "logs", lock=lock_path(home))


def retrain_busy(launcher: SubprocessRetrainLauncher | None) -> Callable[[], bool] | None:
    """Whether a request would start nothing: known only of a local retrain (the ECS task says for itself)."""
    return None if launcher is None else launcher.busy


def make_publisher(settings: Settings, launcher: SubprocessRetrainLauncher | None) -> EventPublisher:
    if settings.event_bus:
        from fraud_detection.infrastructure.aws.eventbridge import EventBridgePublisher

        return EventBridgePublisher(settings.event_bus, settings.aws_region)
    from fraud_detection.infrastructure.local.in_process_events import InProcessPublisher

    publisher = InProcessPublisher()
    if launcher is not None:
        for kind in (DriftDetected.kind, RetrainRequested.kind):
            publisher.subscribe(kind, launcher)
    return publisher


def make_feedback_store(settings: Settings) -> FeedbackStore:
    """Redis when FRAUD_FEEDBACK_URL is set (several replicas); else SQLite under FRAUD_HOME (one host)."""
    if settings.feedback_url:
        from fraud_detection.infrastructure.redis.feedback_store import RedisFeedbackStore

        return RedisFeedbackStore.from_url(
            settings.feedback_url, retention_days=settings.feedback_retention_days
        )
    from fraud_detection.infrastructure.sqlite.feedback_store import SqliteFeedbackStore

    return SqliteFeedbackStore(settings.feedback_db_path, retention_days=settings.feedback_retention_days)


def make_reference_profiles(store: ObjectStore) -> ReferenceProfiles:
    from fraud_detection.infrastructure.documents.reference_profiles import ObjectStoreReferenceProfiles

    return ObjectStoreReferenceProfiles(store)


def make_reports(store: ObjectStore) -> Reports:
    from fraud_detection.infrastructure.documents.reports import ObjectStoreReports

    return ObjectStoreReports(store)


def make_captured_predictions(store: ObjectStore) -> CapturedPredictions:
    from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow

    return PredictionLogWindow(store)


def make_capture_compaction(store: ObjectStore) -> CaptureCompaction:
    """The served rows, then a rollout's dark scores."""
    from fraud_detection.domain.ports.rollout import SHADOW_CAPTURE_PREFIX
    from fraud_detection.infrastructure.arrow.prediction_log.compaction import (
        CaptureCompactor,
        CaptureCompactors,
    )

    return CaptureCompactors([CaptureCompactor(store), CaptureCompactor(store, SHADOW_CAPTURE_PREFIX)])


def make_job_store(store: ObjectStore) -> JobStore:
    from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore

    return ObjectStoreJobStore(store)


def make_validation_rules(settings: Settings) -> ValidationRules:
    return ValidationRules(
        min_rows=settings.validation_min_rows,
        fraud_rate_min=settings.validation_fraud_rate_min,
        fraud_rate_max=settings.validation_fraud_rate_max,
        amount_max=settings.validation_amount_max,
        v_mean_max_stds=settings.validation_v_mean_max_stds,
    )


def make_scoring_input(rules: ValidationRules) -> ScoringInput:
    from fraud_detection.domain.scoring_input import ScoringInput  # numpy: not for every command

    return ScoringInput.of(rules)


def cache_key(settings: Settings) -> str | None:
    """The key that seals local model copies (FRAUD_CACHE_KEY), if any."""
    return settings.cache_key.get_secret_value() if settings.cache_key else None


class Adapters(containers.DeclarativeContainer):
    """One instance of each shared adapter per process, and the rules every capability applies alike."""

    settings = providers.Dependency(instance_of=Settings)
    # How a local retrain starts: the CLI waits for it, the API overrides this with "detach".
    retrain_launch = providers.Object("wait")

    # What a dataset must satisfy to train on, and a row to be scored: API, batch and training alike.
    validation_rules = providers.Singleton(make_validation_rules, settings)
    scoring_input = providers.Singleton(make_scoring_input, validation_rules)

    object_store = providers.Singleton(make_object_store, settings)
    datasets = providers.Singleton(make_dataset_store, object_store)
    transaction_source = providers.Singleton(make_transaction_source, settings)
    tracker = providers.Singleton(make_tracker, settings)
    registry = providers.Singleton(make_registry, settings)
    catalog = providers.Singleton(make_catalog, settings, registry.provider)
    retrain_launcher = providers.Singleton(make_retrain_launcher, settings, retrain_launch)
    retrain_busy = providers.Callable(retrain_busy, retrain_launcher)
    publisher = providers.Singleton(make_publisher, settings, retrain_launcher)
    feedback_store = providers.Singleton(make_feedback_store, settings)
    reference_profiles = providers.Singleton(make_reference_profiles, object_store)
    reports = providers.Singleton(make_reports, object_store)
    captured_predictions = providers.Singleton(make_captured_predictions, object_store)
    capture_compaction = providers.Singleton(make_capture_compaction, object_store)
    job_store = providers.Singleton(make_job_store, object_store)
