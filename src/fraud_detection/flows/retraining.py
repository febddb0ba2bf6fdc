"""`retrain`: the flow a DriftDetected or RetrainRequested event starts (and the retrain schedule).

It builds the retraining set (the champion's data plus labelled captured rows), then runs the training
pipeline's stages on it, validation and promotion gate included: a retrain promotes only a better model,
and the API's poller serves a new champion by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from dependency_injector.wiring import Provide, inject
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from fraud_detection.application.pipeline import PipelineSummary
from fraud_detection.application.retraining import BuildRetrainingSet, RetrainingSet
from fraud_detection.container import Container
from fraud_detection.flows.training import (
    build_features,
    evaluate,
    new_pipeline,
    promote,
    register,
    retry_unless_bad_input,
    train,
    validate,
)
from fraud_detection.flows.wiring import injected

logger = logging.getLogger(__name__)


@task(
    name="build-retraining-set",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_unless_bad_input,
)
def build_set(build: BuildRetrainingSet) -> RetrainingSet:
    return build()


@inject
def _provided(
    make: Callable[[], BuildRetrainingSet] = Provide[Container.build_retraining_set.provider],
) -> Callable[[], BuildRetrainingSet]:
    return make


def new_builder() -> BuildRetrainingSet:
    return injected(_provided, __name__)()


@dataclass(frozen=True)
class RetrainOutcome:
    reason: str
    retraining_set: RetrainingSet
    summary: PipelineSummary | None  # None when there was nothing new to train on


@flow(name="retrain", validate_parameters=True)
def retrain(reason: str = "requested", force_promotion: bool = False) -> RetrainOutcome:
    """Retrain on the champion's data plus labelled captured rows; the gate decides."""
    logger.info("retrain: %s", reason)
    built = build_set(new_builder())
    if built.dataset is None:
        logger.info("retrain skipped: %s", built.detail)
        return RetrainOutcome(reason, built, None)
    pipeline, _ = new_pipeline()
    with pipeline.session(built.dataset) as session:
        validate(session)
        build_features(session)
        train(session)
        evaluate(session)
        register(session)
        promote(session, force_promotion)
    return RetrainOutcome(reason, built, session.summary)
