"""Evaluate scores of rows a model was not fitted on, at its threshold; render the evaluation plots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_detection.domain.drift.estimate import calibrated
from fraud_detection.domain.metrics import ClassificationMetrics, classification_metrics
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.ports.plotting import EvaluationPlotter
from fraud_detection.domain.training import LabelledData


@dataclass(frozen=True)
class Evaluation:
    metrics: ClassificationMetrics
    scores: np.ndarray


class EvaluateModel:
    def __init__(self, review_cost: float, top_k: int) -> None:
        self._review_cost = review_cost
        self._top_k = top_k

    @property
    def top_k(self) -> int:
        return self._top_k

    def __call__(self, model: FraudModel, data: LabelledData, threshold: float) -> Evaluation:
        return self.of_scores(data, model.predict_proba(data.features), threshold)

    def of_scores(self, data: LabelledData, scores: np.ndarray, threshold: float) -> Evaluation:
        """Metrics of scores already computed (the out-of-fold scores of the folds' models)."""
        metrics = classification_metrics(
            data.labels, scores, data.amounts, threshold, self._review_cost, self._top_k
        )
        return Evaluation(metrics, scores)


class RenderEvaluationPlots:
    def __init__(self, plotter: EvaluationPlotter) -> None:
        self._plotter = plotter

    def __call__(
        self,
        model: FraudModel,
        data: LabelledData,
        evaluation: Evaluation,
        threshold: float,
        positive_weight: float = 1.0,
    ) -> dict[str, bytes]:
        chance = calibrated(evaluation.scores, positive_weight)
        return self._plotter.render(
            data.labels, evaluation.scores, threshold, model.feature_importance(), chance
        )
