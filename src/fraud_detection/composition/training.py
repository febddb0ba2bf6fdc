"""Training: ingest, validate, train on time-ordered folds, evaluate, register, gate; and retraining sets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.drift.reference import StoreReferenceProfile
from fraud_detection.application.evaluate import EvaluateModel, RenderEvaluationPlots
from fraud_detection.application.ingest import IngestDataset
from fraud_detection.application.interruption import Interruption
from fraud_detection.application.pipeline import PipelineSteps, TrainingPipeline
from fraud_detection.application.progress import PipelineObserver, StageClock
from fraud_detection.application.promote import PromoteChallenger
from fraud_detection.application.retraining import BuildRetrainingSet
from fraud_detection.application.train import TrainModel
from fraud_detection.application.validate import ValidateDataset
from fraud_detection.domain.folds import FoldPolicy
from fraud_detection.domain.promotion import PromotionPolicy
from fraud_detection.domain.training import TrainingParams
from fraud_detection.domain.training_config import training_config
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from fraud_detection.domain.ports import DataValidator, EvaluationPlotter, ModelTrainer


def make_validator(rules: ValidationRules) -> DataValidator:
    from fraud_detection.infrastructure.great_expectations import GreatExpectationsValidator

    return GreatExpectationsValidator(rules)


def make_trainer() -> ModelTrainer:
    from fraud_detection.infrastructure.lightgbm import LightGBMTrainer

    return LightGBMTrainer()


def make_plotter() -> EvaluationPlotter:
    from fraud_detection.infrastructure.matplotlib.plotter import MatplotlibPlotter

    return MatplotlibPlotter()


def make_training_params(settings: Settings) -> TrainingParams:
    return TrainingParams(
        seed=settings.seed, max_rounds=settings.train_max_rounds, threads=settings.train_threads
    )


def make_fold_policy(settings: Settings) -> FoldPolicy:
    return FoldPolicy(settings.train_folds, settings.first_fit_fraction, settings.split_gap_seconds)


def make_training_config(settings: Settings) -> dict[str, object]:
    return training_config(make_training_params(settings), make_fold_policy(settings), settings.review_cost)


def make_promotion_policy(settings: Settings) -> PromotionPolicy:
    return PromotionPolicy(
        settings.promotion_metric,
        settings.promotion_margin,
        settings.promotion_min_frauds,
        settings.promotion_min_confidence,
    )


class Training(containers.DeclarativeContainer):
    """The training pipeline's use cases; a new pipeline object per run."""

    settings = providers.Dependency(instance_of=Settings)
    observer = providers.Dependency(instance_of=PipelineObserver)
    interruption = providers.Dependency(instance_of=Interruption)
    adapters = providers.DependenciesContainer()

    validator = providers.Singleton(make_validator, adapters.validation_rules)
    trainer = providers.Singleton(make_trainer)
    plotter = providers.Singleton(make_plotter)

    ingest = providers.Factory(IngestDataset, adapters.transaction_source, adapters.datasets)
    validate = providers.Factory(ValidateDataset, validator, adapters.reports)
    evaluate = providers.Factory(EvaluateModel, settings.provided.review_cost, settings.provided.top_k)
    train = providers.Factory(
        TrainModel, trainer, providers.Callable(make_training_params, settings), settings.provided.review_cost
    )
    promote = providers.Factory(
        PromoteChallenger,
        adapters.registry,
        providers.Callable(make_promotion_policy, settings),
        evaluate,
        adapters.publisher,
        adapters.datasets,
    )
    # Retraining: the champion's data plus labelled captured rows
    build_retraining_set = providers.Factory(
        BuildRetrainingSet,
        adapters.registry,
        adapters.datasets,
        adapters.captured_predictions,
        adapters.feedback_store,
        settings.provided.retrain_lookback_days,
        config=providers.Callable(make_training_config, settings),
    )
    steps = providers.Factory(
        PipelineSteps,
        ingest=ingest,
        datasets=adapters.datasets,
        validate=validate,
        train=train,
        evaluate=evaluate,
        plots=providers.Factory(RenderEvaluationPlots, plotter),
        tracker=adapters.tracker,
        registry=adapters.registry,
        promote=promote,
        publisher=adapters.publisher,
        fold_policy=providers.Callable(make_fold_policy, settings),
        reference_profile=providers.Factory(StoreReferenceProfile, adapters.reference_profiles),
    )
    pipeline = providers.Factory(
        TrainingPipeline, steps, providers.Factory(StageClock, observer, interruption)
    )
