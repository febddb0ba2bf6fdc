"""What one training-pipeline run produced, stage by stage (printed by the CLI, returned by the flows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fraud_detection.application.evaluate import Evaluation
from fraud_detection.application.train import TrainingResult
from fraud_detection.application.validate import ValidationResult
from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.promotion import PromotionDecision


@dataclass
class PipelineSummary:
    dataset: DatasetRef
    validation: ValidationResult | None = None
    folds: dict[str, int] = field(default_factory=dict)
    training: TrainingResult | None = None
    evaluation: Evaluation | None = None
    version: ModelVersion | None = None
    decision: PromotionDecision | None = None
    run_id: str = ""
    run_location: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        training, evaluation = self.training, self.evaluation
        return {
            "dataset": self.dataset.to_dict(),
            "validation": self.validation.report.to_dict()["statistics"] | {
                "success": self.validation.report.success, "report": self.validation.html_uri
            } if self.validation else None,
            "folds": self.folds,
            "training": {
                "imbalance_strategy": training.chosen.strategy,
                "candidates": [vars(c) for c in training.candidates],
                "rounds": training.chosen.rounds,
                "refit_rounds": training.refit_rounds,
                "refit_rows": self.folds.get("rows"),
                "threshold": training.threshold.threshold,
                "threshold_rule": training.threshold.rule,
            } if training else None,
            "out_of_time_metrics": evaluation.metrics.as_dict() if evaluation else None,
            "model": {"name": self.version.name, "version": self.version.version} if self.version else None,
            "promotion": self.decision.as_dict() if self.decision else None,
            "mlflow_run": {"id": self.run_id, "location": self.run_location},
            "stage_seconds": self.stage_seconds,
        }  # fmt: skip
