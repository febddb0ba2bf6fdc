"""One training-pipeline run: ingest -> validate -> features -> train -> evaluate -> register -> promote.

Each stage is a method, so an orchestrator (the Prefect flow) can run it as a task with its own retries and
logs, while the state between stages (the frame, the folds, the model) stays in memory in this object. The
MLflow run spans validate..promote: a failed validation leaves a FAILED run holding the report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from fraud_detection.application.drift.reference import StoreReferenceProfile
from fraud_detection.application.evaluate import EvaluateModel, Evaluation, RenderEvaluationPlots
from fraud_detection.application.ingest import IngestDataset
from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.application.progress import StageClock
from fraud_detection.application.promote import GATE_BLOCKS, ChallengerEvidence, PromoteChallenger
from fraud_detection.application.train import FoldedData, TrainingResult, TrainModel
from fraud_detection.application.validate import ValidateDataset, ValidationResult
from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.domain.drift.estimate import brier_score, calibrated, reliability
from fraud_detection.domain.events import ModelRegistered
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.model import (
    CHALLENGER,
    REGISTRATION_COMPLETE,
    REGISTRATION_FAILED_TAG,
    REGISTRATION_STARTED,
    REGISTRATION_TAG,
    ModelMetadata,
    ModelVersion,
)
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.tracking import ExperimentTracker, TrackingRun
from fraud_detection.domain.promotion import PromotionDecision
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.domain.training import LabelledData
from fraud_detection.domain.training_config import TRAINING_CONFIG_TAG, encode_config

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PipelineSteps:
    """The use cases and ports one run needs; built by the composition root."""

    ingest: IngestDataset
    datasets: DatasetStore
    validate: ValidateDataset
    train: TrainModel
    evaluate: EvaluateModel
    plots: RenderEvaluationPlots
    tracker: ExperimentTracker
    registry: ModelRegistry
    promote: PromoteChallenger
    publisher: EventPublisher
    fold_policy: FoldPolicy
    reference_profile: StoreReferenceProfile


class TrainingPipeline:
    """Per-run object (the container builds a new one for every run)."""

    def __init__(self, steps: PipelineSteps, clock: StageClock) -> None:
        self._steps = steps
        self._clock = clock

    def ingest(self, source: str) -> DatasetRef:
        with self._clock.stage("ingest") as detail:
            warnings: list[str] = []
            ref = self._steps.ingest(source, warn=warnings.append)
            detail.append(f"{ref.rows:,} rows, {ref.frauds:,} frauds -> dataset {ref.id.short}")
            detail.extend(f"warning: {warning}" for warning in warnings)
        return ref

    @contextmanager
    def session(
        self, dataset: DatasetRef, tags: Mapping[str, str] | None = None
    ) -> Iterator[PipelineSession]:
        """`tags`: more for the run (a retrain's trigger and what it learnt from)."""
        base = {"dataset_id": dataset.id.value, "feature_version": FEATURE_VERSION, "source": dataset.source}
        with self._steps.tracker.start_run(f"train-{dataset.id.short}", base | dict(tags or {})) as run:
            yield PipelineSession(self._steps, self._clock, dataset, run)


class PipelineSession:
    def __init__(
        self, steps: PipelineSteps, clock: StageClock, dataset: DatasetRef, run: TrackingRun
    ) -> None:
        self._steps, self._clock, self._run = steps, clock, run
        self.summary = PipelineSummary(dataset, run_id=run.run_id, run_location=run.location)
        self.summary.stage_seconds = clock.seconds
        self._frame: pd.DataFrame | None = None
        self._data: FoldedData | None = None

    def record(self, document: Mapping[str, Any], artifact_file: str) -> None:
        """A document kept with the run (a retrain's labels: `retraining/labels.json`)."""
        self._run.log_dict(document, artifact_file)

    def validate(self) -> ValidationResult:
        with self._clock.stage("validate") as detail:
            dataset = self.summary.dataset
            self._frame = self._steps.datasets.load(dataset.id)
            result = self._steps.validate(self._frame, dataset.id.value)
            self._run.log_dict(result.report.to_dict(), "validation/report.json")
            self._run.log_bytes(result.html.encode(), "validation/report.html")
            self._run.log_metrics({"validation_failed_expectations": len(result.report.failures)})
            self.summary.validation = result
            detail.append(result.report.summary())
            result.raise_if_failed()
        return result

    def build_features(self) -> FoldedData:
        with self._clock.stage("features") as detail:
            folds = time_ordered_folds(self._require(self._frame, "validate"), self._steps.fold_policy)
            self._frame = None  # the folds hold the rows (in time order) from here on; not a second copy
            self._data = FoldedData.of(folds)
            self.summary.folds = folds.describe()
            self._run.log_params(self.summary.folds | {"feature_version": FEATURE_VERSION})
            described = self.summary.folds
            detail.append(
                f"{described['folds']} time-ordered folds over {described['rows']:,} rows: "
                f"{described['out_of_fold_rows']:,} rows ({described['out_of_fold_frauds']:,} frauds) "
                "scored out of fold"
            )
        return self._data

    def train(self) -> TrainingResult:
        with self._clock.stage("train") as detail:
            data = self._require(self._data, "build_features")
            result = self._steps.train(data, self._clock.progress("train"))
            self._run.log_params(result.params.as_dict() | {"imbalance_strategy": result.chosen.strategy})
            self._run.log_metrics(
                {f"oof_auprc_{c.strategy}": c.oof_auprc for c in result.candidates}
                | {f"fold{n}_auprc": v for n, v in enumerate(result.chosen.fold_auprc, start=1)}
                | {"rounds": result.chosen.rounds, "refit_rounds": result.refit_rounds}
                | {"threshold": result.threshold.threshold}
            )
            self._run.log_dict({"candidates": [vars(c) for c in result.candidates]}, "training/folds.json")
            self.summary.training = result
            detail.append(
                f"{result.chosen.strategy} (out-of-fold AUPRC {result.chosen.oof_auprc:.4f}, "
                f"{result.chosen.rounds} rounds), refit on all {len(data.data):,} rows for "
                f"{result.refit_rounds} rounds, threshold {result.threshold.threshold:.4f}"
            )
        return result

    def evaluate(self) -> Evaluation:
        with self._clock.stage("evaluate") as detail:
            training = self._require(self.summary.training, "train")
            threshold = training.threshold.threshold
            evaluation = self._steps.evaluate.of_scores(training.out_of_fold, training.oof_scores, threshold)
            self._run.log_metrics({f"oot_{k}": v for k, v in evaluation.metrics.as_dict().items()})
            weight = training.chosen.scale_pos_weight
            chance = calibrated(training.oof_scores, weight)
            # Calibration decides how far the label-free estimates (drift checks) can be trusted.
            self._run.log_metrics({"oot_brier": brier_score(training.out_of_fold.labels, chance)})
            self._run.log_dict(
                {"bins": [asdict(b) for b in reliability(training.out_of_fold.labels, chance)]},
                "training/reliability.json",
            )
            for name, png in self._steps.plots(
                training.model, training.out_of_fold, evaluation, threshold, weight
            ).items():
                self._run.log_bytes(png, f"plots/{name}")
            self.summary.evaluation = evaluation
            m = evaluation.metrics
            detail.append(
                f"out-of-time AUPRC {m.auprc:.4f}, ROC AUC {m.roc_auc:.4f}, "
                f"precision@{m.k} {m.precision_at_k:.3f}"
            )
        return evaluation

    def register(self) -> ModelVersion:
        # atomic: a version registered without its alias and reference profile would be half a version
        with self._clock.stage("register", atomic=True) as detail:
            data, training = (
                self._require(self._data, "build_features"),
                self._require(self.summary.training, "train"),
            )
            evaluation = self._require(self.summary.evaluation, "evaluate")
            metadata = ModelMetadata(
                feature_version=FEATURE_VERSION,
                threshold=training.threshold.threshold,
                dataset_id=self.summary.dataset.id.value,
                metrics=evaluation.metrics.as_dict(),
            )
            uri = self._run.log_model(training.model, metadata, data.data.features.head(5))
            registry = self._steps.registry
            version = registry.register(
                uri, self._run.run_id, metadata, {REGISTRATION_TAG: REGISTRATION_STARTED}
            )
            # The profile before the alias: a version whose profile could not be stored (S3 down) gets no
            # alias and a tag that refuses its promotion, instead of an @challenger that drift cannot check.
            step = "reference profile not stored"
            try:
                self._steps.reference_profile(
                    registry.model_name,
                    version.version,
                    training_inputs(data.data),
                    # The served model's own scores on its rows, not the out-of-fold ones: those come from
                    # other, weaker fold models, and normal traffic would look like drift against them (KS
                    # 0.35 on the real rows, 0.06 against these).
                    training.model.predict_proba(data.data.features),
                    training.threshold.threshold,
                    held_out_scores=training.oof_scores,
                    held_out_labels=training.out_of_fold.labels,
                    positive_weight=training.chosen.scale_pos_weight,
                )
                # Untagged, a version left without its alias (the registry failing there) counted as
                # "already trained on this set": every retrain on the same labels stopped before training.
                step = "training configuration not recorded"
                config = encode_config(self._steps.train.config(self._steps.fold_policy))
                registry.set_tag(version.version, TRAINING_CONFIG_TAG, config)
                step = "challenger alias not set"
                rollout = self._steps.promote.rollout_in_progress()
                if rollout is None:
                    registry.set_alias(CHALLENGER, version.version)
                step = "registration not marked complete"
                registry.set_tag(version.version, REGISTRATION_TAG, REGISTRATION_COMPLETE)
            except BaseException as error:
                self._mark_failed(version.version, f"{step}: {error}")
                raise
            self._steps.publisher.publish(ModelRegistered(registry.model_name, version.version))
            self.summary.version = registry.get(version.version)
            alias = f"@{CHALLENGER}"
            if rollout is not None:
                alias = f"({alias} stays on v{rollout.challenger}, in rollout)"
            detail.append(f"{registry.model_name} v{version.version} {alias}")
        return self.summary.version

    def _mark_failed(self, version: int, why: str) -> None:
        try:
            self._steps.registry.set_tag(version, REGISTRATION_FAILED_TAG, why[:500])
        except Exception:  # the registry failing too: the version has no alias at least; the error is raised
            logger.exception("could not tag v%d as a failed registration", version)

    def promote(self, force: bool = False) -> PromotionDecision:
        """The gate; `force` promotes even when it would keep the champion (the decision says so)."""
        with self._clock.stage("promote") as detail:
            version = self._require(self.summary.version, "register")
            evaluation = self._require(self.summary.evaluation, "evaluate")
            data = self._require(self._data, "build_features")
            training = self._require(self.summary.training, "train")
            positions = data.folds.out_of_fold
            gap = self._steps.fold_policy.gap_seconds

            def rescore(mask: np.ndarray) -> np.ndarray:
                return self._steps.train.prequential_scores(
                    data, training, positions[mask], GATE_BLOCKS, gap, self._clock.progress("promote")
                )

            evidence = ChallengerEvidence(
                rows=data.folds.ordered.iloc[positions],
                data=training.out_of_fold,
                scores=training.oof_scores,
                threshold=training.threshold.threshold,
                metrics=evaluation.metrics.as_dict(),
                rescore=rescore,
            )
            decision, champion = self._steps.promote.decide(version, evidence, force)
            # Recorded whole or not at all: a stop requested from here waits for the run's tags too.
            with self._clock.interruption.atomic("promote"):
                decision = self._steps.promote.record(version, decision, champion)
                self._run.set_tags({"promotion_decision": decision.outcome})
                self._run.log_dict(decision.as_dict(), "promotion/decision.json")
            self.summary.decision = decision
            self.summary.version = self._steps.registry.get(version.version)
            detail.append(decision.reason)
        return decision

    @staticmethod
    def _require(value: T | None, stage: str) -> T:
        if value is None:
            raise RuntimeError(f"stage '{stage}' must run first")
        return value


def training_inputs(data: LabelledData) -> list[np.ndarray]:
    """The raw inputs (V1..V28, Amount) of labelled rows, as drift checks see captured rows: one array per
    column, the features' own V columns and the raw amounts. Selecting the columns, then stacking them,
    made two copies of the whole features (one, 315 MiB on 1.4M rows, when filled column by column)."""
    return [data.features[name].to_numpy(dtype=np.float64) for name in V_COLUMNS] + [data.amounts]
