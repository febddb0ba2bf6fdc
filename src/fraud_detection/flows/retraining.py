"""`retrain`: the flow a DriftDetected or RetrainRequested event starts (and the retrain schedule).

It builds the retraining set (the champion's data plus labelled captured rows), then runs the training
pipeline's stages on it, validation and promotion gate included: a retrain promotes only a better model,
and the API's poller serves a new champion by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect import flow

from fraud_detection.application.interruption import Interruption
from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.application.progress import PipelineObserver
from fraud_detection.application.retraining import BuildRetrainingSet, RetrainingSet
from fraud_detection.composition import get_container
from fraud_detection.domain.run_provenance import (
    RETRAIN_BASE_TAG,
    RETRAIN_REASON_TAG,
    RETRAIN_ROWS_TAG,
    RETRAIN_SINCE_TAG,
)
from fraud_detection.flows.finished import keeps_result
from fraud_detection.flows.tasks import io_task, run_stage_tasks

logger = logging.getLogger(__name__)
MAX_REASON = 5_000  # MLflow's limit on a tag's value


@io_task("build-retraining-set")
def build_set(
    build: BuildRetrainingSet, interruption: Interruption, observer: PipelineObserver | None = None
) -> RetrainingSet:
    # the run's own code, like a stage's (a stop may raise in it)
    with interruption.stoppable("build-retraining-set"):
        if observer is None:
            return build()
        return build(progress=lambda message: observer.stage_progress("set", message))


@dataclass(frozen=True)
class RetrainOutcome:
    reason: str
    retraining_set: RetrainingSet
    summary: PipelineSummary | None  # None when there was nothing new to train on


@flow(name="retrain", validate_parameters=True)
@keeps_result
def retrain(reason: str = "requested", force_promotion: bool = False) -> RetrainOutcome:
    """Retrain on the champion's data plus labelled captured rows; the gate decides."""
    logger.info("retrain: %s", reason)
    container = get_container()
    interruption = container.interruption()
    interruption.stop_at_stages()  # a stop waits out Prefect's bookkeeping between tasks
    training = container.training
    built = build_set(training.build_retraining_set(), interruption, container.observer())
    if built.dataset is None:
        logger.info("retrain skipped: %s", built.detail)
        return RetrainOutcome(reason, built, None)
    tags = {  # what started it and what it learnt from, kept with the run (and so with the version's run)
        RETRAIN_REASON_TAG: reason[:MAX_REASON],
        RETRAIN_BASE_TAG: built.base.id.value,
        RETRAIN_ROWS_TAG: str(built.labelled_rows),
        RETRAIN_SINCE_TAG: built.since,
    }
    with training.pipeline().session(built.dataset, tags) as session:
        session.record(built.lineage(), "retraining/labels.json")
        return RetrainOutcome(reason, built, run_stage_tasks(session, force_promotion))
