"""The composition root: one dependency-injector container picks adapters from `Settings`.

Adapter factories import their vendor SDK inside the function, so a command that needs only the registry
(`fraud model list`) does not pay Great Expectations' or LightGBM's import time (seconds each).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.inline import run_job
from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.application.drift.check import CheckDrift
from fraud_detection.application.drift.reference import StoreReferenceProfile
from fraud_detection.application.evaluate import EvaluateModel, RenderEvaluationPlots
from fraud_detection.application.feedback import MeasureRealisedQuality, RecordFeedback
from fraud_detection.application.feedback.measure import VersionCalibration
from fraud_detection.application.ingest import IngestDataset
from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.pipeline import PipelineSteps, TrainingPipeline
from fraud_detection.application.progress import PipelineObserver, StageClock
from fraud_detection.application.promote import PromoteChallenger
from fraud_detection.application.retraining import BuildRetrainingSet
from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.application.serving.runtime import ServingRuntime
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.application.train import TrainModel
from fraud_detection.application.validate import ValidateDataset
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.events import DriftDetected, RetrainRequested
from fraud_detection.domain.folds import FoldPolicy
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.promotion import PromotionPolicy
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.training import TrainingParams
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from fraud_detection.domain.ports import (
        DatasetStore,
        DataValidator,
        EvaluationPlotter,
        EventPublisher,
        ExperimentTracker,
        ModelCache,
        ModelRegistry,
        ModelTrainer,
        ObjectStore,
        PredictionLog,
        ScoringTelemetry,
        TransactionSource,
    )
    from fraud_detection.domain.ports.clients import ClientSource
    from fraud_detection.domain.ports.drift import (
        CapturedPredictions,
        DistributionTests,
        DriftChart,
        ReferenceProfiles,
    )
    from fraud_detection.domain.ports.feedback import FeedbackStore
    from fraud_detection.domain.ports.jobs import BatchFiles, JobQueue, JobStore
    from fraud_detection.domain.ports.reports import Reports
    from fraud_detection.infrastructure.events.retrain_launcher import LaunchMode


def make_object_store(settings: Settings) -> ObjectStore:
    uri = settings.resolved_storage_uri
    if uri.startswith("s3://"):
        from fraud_detection.infrastructure.s3 import S3ObjectStore

        return S3ObjectStore.from_uri(uri, endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
    from fraud_detection.infrastructure.local import LocalObjectStore

    return LocalObjectStore(Path(uri.removeprefix("file://")))


def make_dataset_store(store: ObjectStore) -> DatasetStore:
    from fraud_detection.infrastructure.datasets import ParquetDatasetStore

    return ParquetDatasetStore(store)


def make_transaction_source(settings: Settings) -> TransactionSource:
    from fraud_detection.infrastructure.sources import FileTransactionSource

    return FileTransactionSource(endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)


def make_validator(rules: ValidationRules) -> DataValidator:
    from fraud_detection.infrastructure.great_expectations import GreatExpectationsValidator

    return GreatExpectationsValidator(rules)


def make_tracker(settings: Settings) -> ExperimentTracker:
    from fraud_detection.infrastructure.mlflow import MlflowExperimentTracker

    embedded = settings.mlflow_tracking_uri is None
    if embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
    return MlflowExperimentTracker(
        settings.resolved_tracking_uri,
        settings.mlflow_experiment,
        artifact_location=settings.mlflow_artifact_root if embedded else None,
    )


def make_registry(settings: Settings) -> ModelRegistry:
    from fraud_detection.infrastructure.mlflow import MlflowModelRegistry

    if settings.mlflow_tracking_uri is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    return MlflowModelRegistry(settings.resolved_tracking_uri, settings.model_name)


def make_trainer() -> ModelTrainer:
    from fraud_detection.infrastructure.lightgbm import LightGBMTrainer

    return LightGBMTrainer()


def make_plotter() -> EvaluationPlotter:
    from fraud_detection.infrastructure.plots import MatplotlibPlotter

    return MatplotlibPlotter()


def make_publisher(settings: Settings, retrain_launch: LaunchMode) -> EventPublisher:
    if settings.event_bus:
        from fraud_detection.infrastructure.events.eventbridge import EventBridgePublisher

        return EventBridgePublisher(settings.event_bus, settings.aws_region)
    from fraud_detection.infrastructure.events.in_process import InProcessPublisher
    from fraud_detection.infrastructure.events.retrain_launcher import SubprocessRetrainLauncher
    from fraud_detection.infrastructure.events.retrain_lock import lock_path

    publisher = InProcessPublisher()
    if settings.retrain_on_events:
        home = settings.home.resolve()
        launcher = SubprocessRetrainLauncher(retrain_launch, home / "logs", lock=lock_path(home))
        for kind in (DriftDetected.kind, RetrainRequested.kind):
            publisher.subscribe(kind, launcher)
    return publisher


def make_model_cache(settings: Settings) -> ModelCache:
    from fraud_detection.infrastructure.lightgbm.model_cache import LightGBMModelCache

    return LightGBMModelCache(settings.model_cache_dir, _cache_key(settings))


def make_prediction_log(store: ObjectStore, settings: Settings) -> PredictionLog:
    from fraud_detection.infrastructure.prediction_log import ParquetPredictionLog
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


def make_feedback_store(settings: Settings) -> FeedbackStore:
    """Redis when FRAUD_FEEDBACK_URL is set (several replicas); else SQLite under FRAUD_HOME (one host)."""
    if settings.feedback_url:
        from fraud_detection.infrastructure.feedback import RedisFeedbackStore

        return RedisFeedbackStore.from_url(
            settings.feedback_url, retention_days=settings.feedback_retention_days
        )
    from fraud_detection.infrastructure.feedback import SqliteFeedbackStore

    return SqliteFeedbackStore(settings.feedback_db_path, retention_days=settings.feedback_retention_days)


def make_indexing_prediction_log(log: PredictionLog, store: FeedbackStore) -> PredictionLog:
    from fraud_detection.infrastructure.feedback import IndexingPredictionLog

    return IndexingPredictionLog(log, store)


def make_client_source(settings: Settings) -> ClientSource:
    if settings.api_clients_secret:
        from fraud_detection.infrastructure.clients.secrets_manager import SecretsManagerClients

        return SecretsManagerClients(
            settings.api_clients_secret, settings.aws_region, settings.api_clients_refresh_seconds
        )
    from fraud_detection.infrastructure.clients.key_file import KeyFileClients

    return KeyFileClients(settings.resolved_api_clients_file)


def make_job_store(store: ObjectStore) -> JobStore:
    from fraud_detection.infrastructure.jobs import ObjectStoreJobStore

    return ObjectStoreJobStore(store)


def make_batch_files(store: ObjectStore, settings: Settings) -> BatchFiles:
    from fraud_detection.infrastructure.batch import ParquetBatchFiles

    return ParquetBatchFiles(
        store,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.aws_region,
        scratch_dir=settings.home / "scratch",
        roots=settings.batch_roots,
    )


def make_model_accelerator(settings: Settings) -> ModelAccelerator:
    if not settings.model_compile:
        return ModelAccelerator()
    from fraud_detection.infrastructure.lightgbm.compiled import CompilingAccelerator

    return CompilingAccelerator(settings.home / "compiled-models", cache_key=_cache_key(settings))


def _cache_key(settings: Settings) -> str | None:
    return settings.cache_key.get_secret_value() if settings.cache_key else None


def make_job_queue(settings: Settings, steps: JobSteps) -> JobQueue:
    """Celery (Redis) when FRAUD_BROKER_URL is set; otherwise jobs run on a thread of this process."""
    if settings.broker_url:
        from fraud_detection.infrastructure.celery import CeleryJobQueue, make_celery_app

        return CeleryJobQueue(make_celery_app(settings))
    from fraud_detection.infrastructure.jobs import InProcessJobQueue

    return InProcessJobQueue(partial(run_job, steps))


def make_drift_policy(settings: Settings) -> DriftPolicy:
    return DriftPolicy(
        family_alpha=settings.drift_family_alpha,
        min_rows=settings.drift_min_rows,
        min_psi=settings.drift_min_psi,
        min_score_psi=settings.drift_min_score_psi,
        precision_tolerance=settings.drift_precision_tolerance,
        recall_tolerance=settings.drift_recall_tolerance,
        realised_tolerance=settings.drift_realised_tolerance,
    )


def make_reference_profiles(store: ObjectStore) -> ReferenceProfiles:
    from fraud_detection.infrastructure.drift.documents import ObjectStoreReferenceProfiles

    return ObjectStoreReferenceProfiles(store)


def make_reports(store: ObjectStore) -> Reports:
    from fraud_detection.infrastructure.reports import ObjectStoreReports

    return ObjectStoreReports(store)


def make_captured_predictions(store: ObjectStore) -> CapturedPredictions:
    from fraud_detection.infrastructure.drift.captured import PredictionLogWindow

    return PredictionLogWindow(store)


def make_distribution_tests() -> DistributionTests:
    from fraud_detection.infrastructure.drift.scipy_tests import ScipyDistributionTests

    return ScipyDistributionTests()


def make_drift_chart(policy: DriftPolicy) -> DriftChart:
    from fraud_detection.infrastructure.drift.chart import MatplotlibDriftChart

    return MatplotlibDriftChart(policy.min_psi)


def make_validation_rules(settings: Settings) -> ValidationRules:
    return ValidationRules(
        min_rows=settings.validation_min_rows,
        fraud_rate_min=settings.validation_fraud_rate_min,
        fraud_rate_max=settings.validation_fraud_rate_max,
        amount_max=settings.validation_amount_max,
    )


def make_training_params(settings: Settings) -> TrainingParams:
    return TrainingParams(
        seed=settings.seed, max_rounds=settings.train_max_rounds, threads=settings.train_threads
    )


def make_fold_policy(settings: Settings) -> FoldPolicy:
    return FoldPolicy(settings.train_folds, settings.first_fit_fraction, settings.split_gap_seconds)


def make_promotion_policy(settings: Settings) -> PromotionPolicy:
    return PromotionPolicy(settings.promotion_metric, settings.promotion_margin)


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    observer = providers.Singleton(PipelineObserver)

    # Adapters (one instance per process)
    object_store = providers.Singleton(make_object_store, settings)
    reports = providers.Singleton(make_reports, object_store)
    datasets = providers.Singleton(make_dataset_store, object_store)
    transaction_source = providers.Singleton(make_transaction_source, settings)
    validation_rules = providers.Singleton(make_validation_rules, settings)
    validator = providers.Singleton(make_validator, validation_rules)
    scoring_input = providers.Singleton(ScoringInput.of, validation_rules)
    tracker = providers.Singleton(make_tracker, settings)
    registry = providers.Singleton(make_registry, settings)
    trainer = providers.Singleton(make_trainer)
    plotter = providers.Singleton(make_plotter)
    # How a local retrain starts: the CLI waits for it, the API overrides this with "detach".
    retrain_launch = providers.Object("wait")
    publisher = providers.Singleton(make_publisher, settings, retrain_launch)

    model_cache = providers.Singleton(make_model_cache, settings)
    prediction_log = providers.Singleton(make_prediction_log, object_store, settings)
    scoring_telemetry = providers.Singleton(make_scoring_telemetry)

    # feedback: chargeback labels joined with the decisions served, and realised quality. Scoring captures
    # through `indexed_prediction_log`: the capture log above, wrapped to record scored transaction ids in
    # the feedback store off the request path (tests that override `prediction_log` still get it wrapped).
    feedback_store = providers.Singleton(make_feedback_store, settings)
    indexed_prediction_log = providers.Singleton(make_indexing_prediction_log, prediction_log, feedback_store)
    record_feedback = providers.Factory(RecordFeedback, feedback_store)
    reference_profiles = providers.Singleton(make_reference_profiles, object_store)
    measure_quality = providers.Factory(
        MeasureRealisedQuality,
        feedback_store,
        reports,
        calibrate=providers.Factory(VersionCalibration, reference_profiles, settings.provided.model_name),
    )

    # Online scoring (one of each per serving process)
    api_clients = providers.Singleton(make_client_source, settings)
    model_holder = providers.Singleton(ModelHolder)
    champion_loader = providers.Singleton(
        ChampionLoader, registry, model_cache, model_holder, scoring_telemetry
    )
    score_transactions = providers.Singleton(
        ScoreTransactions,
        model_holder,
        indexed_prediction_log,
        scoring_telemetry,
        settings.provided.top_reasons,
    )
    serving_runtime = providers.Singleton(
        ServingRuntime, champion_loader, indexed_prediction_log, settings.provided.model_poll_seconds
    )
    request_retrain = providers.Factory(RequestRetrain, publisher)

    # Batch scoring jobs
    job_store = providers.Singleton(make_job_store, object_store)
    batch_files = providers.Singleton(make_batch_files, object_store, settings)
    model_accelerator = providers.Singleton(make_model_accelerator, settings)
    job_models = providers.Singleton(JobModels, registry, model_accelerator)
    job_steps = providers.Singleton(
        JobSteps, job_store, batch_files, job_models, scoring_input, settings.provided.batch_chunk_rows
    )
    job_queue = providers.Singleton(make_job_queue, settings, job_steps)
    submit_job = providers.Factory(SubmitScoringJob, job_store, job_queue, settings.provided.batch_roots)
    job_control = providers.Factory(JobControl, job_store, job_queue, batch_files)

    # Drift monitoring
    drift_policy = providers.Singleton(make_drift_policy, settings)
    captured_predictions = providers.Singleton(make_captured_predictions, object_store)
    check_drift = providers.Factory(
        CheckDrift,
        captured=captured_predictions,
        profiles=reference_profiles,
        reports=reports,
        tests=providers.Singleton(make_distribution_tests),
        chart=providers.Singleton(make_drift_chart, drift_policy),
        publisher=publisher,
        policy=drift_policy,
        model_name=settings.provided.model_name,
    )

    # Retraining: the champion's data plus labelled captured rows
    build_retraining_set = providers.Factory(
        BuildRetrainingSet,
        registry,
        datasets,
        captured_predictions,
        feedback_store,
        settings.provided.retrain_lookback_days,
    )

    # Use cases
    ingest = providers.Factory(IngestDataset, transaction_source, datasets)
    validate = providers.Factory(ValidateDataset, validator, reports)
    evaluate = providers.Factory(EvaluateModel, settings.provided.review_cost, settings.provided.top_k)
    train = providers.Factory(
        TrainModel, trainer, providers.Callable(make_training_params, settings), settings.provided.review_cost
    )
    promote = providers.Factory(
        PromoteChallenger,
        registry,
        providers.Callable(make_promotion_policy, settings),
        evaluate,
        publisher,
        datasets,
    )
    model_admin = providers.Factory(ModelAdministration, registry, publisher)
    pipeline_steps = providers.Factory(
        PipelineSteps,
        ingest=ingest,
        datasets=datasets,
        validate=validate,
        train=train,
        evaluate=evaluate,
        plots=providers.Factory(RenderEvaluationPlots, plotter),
        tracker=tracker,
        registry=registry,
        promote=promote,
        publisher=publisher,
        fold_policy=providers.Callable(make_fold_policy, settings),
        reference_profile=providers.Factory(StoreReferenceProfile, reference_profiles),
    )
    training_pipeline = providers.Factory(
        TrainingPipeline, pipeline_steps, providers.Factory(StageClock, observer)
    )


PIPELINE_PACKAGES = ("fraud_detection.flows", "fraud_detection.entrypoints.cli")


def bootstrap(
    settings: Settings | None = None,
    modules: tuple[ModuleType, ...] = (),
    packages: tuple[str, ...] = PIPELINE_PACKAGES,
) -> Container:
    """Build the container (from the environment unless `settings` is given) and wire `packages` (the CLI
    and the flows; the API takes its container from the app instead, and must not import Prefect)."""
    container = Container()
    if settings is not None:
        container.settings.override(providers.Object(settings))
    container.wire(packages=list(packages), modules=list(modules))
    return container
