"""PR curve, ROC curve, confusion matrix and feature importance as PNG bytes (headless Agg backend)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: servers and CI have no display

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from fraud_detection.domain.decision import flagged
from fraud_detection.domain.drift.estimate import brier_score, reliability
from fraud_detection.domain.metrics import Curve, average_precision, roc_auc
from fraud_detection.domain.ports.plotting import EvaluationPlotter


class MatplotlibPlotter(EvaluationPlotter):
    def __init__(self, top_features: int = 20) -> None:
        self._top_features = top_features

    def render(
        self,
        labels: np.ndarray,
        scores: np.ndarray,
        threshold: float,
        importance: dict[str, float],
        chance: np.ndarray | None = None,
    ) -> dict[str, bytes]:
        curve = Curve.of(labels, scores)
        return {
            "pr_curve.png": png_bytes(self._pr(curve, labels, scores)),
            "roc_curve.png": png_bytes(self._roc(curve, labels, scores)),
            "confusion_matrix.png": png_bytes(self._confusion(labels, scores, threshold)),
            "feature_importance.png": png_bytes(self._importance(importance)),
            "reliability.png": png_bytes(self._reliability(labels, scores if chance is None else chance)),
        }

    @staticmethod
    def _reliability(labels: np.ndarray, chance: np.ndarray) -> Figure:
        bins = reliability(labels, chance)
        figure, axes = plt.subplots(figsize=(5, 5))
        axes.plot([1e-5, 1], [1e-5, 1], color="grey", linestyle="--", label="calibrated")
        axes.plot(
            [max(b.mean_probability, 1e-5) for b in bins], [max(b.fraud_rate, 1e-5) for b in bins],
            marker="o", label=f"out of fold (Brier {brier_score(labels, chance):.5f})",
        )  # fmt: skip
        axes.set(
            xscale="log", yscale="log", xlabel="mean predicted fraud chance", ylabel="observed fraud rate",
            title="Reliability (fixed bins; log scales, 0 drawn at 1e-5)",
        )  # fmt: skip
        axes.legend(loc="upper left")
        return figure

    @staticmethod
    def _pr(curve: Curve, labels: np.ndarray, scores: np.ndarray) -> Figure:
        figure, axes = plt.subplots(figsize=(5, 4))
        axes.step(np.r_[0.0, curve.recall], np.r_[1.0, curve.precision], where="post")
        axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
        axes.set_title(f"Precision-recall (AUPRC {average_precision(labels, scores):.4f})")
        return figure

    @staticmethod
    def _roc(curve: Curve, labels: np.ndarray, scores: np.ndarray) -> Figure:
        figure, axes = plt.subplots(figsize=(5, 4))
        fpr = np.r_[0.0, curve.false_positives / max(curve.false_positives[-1], 1)]
        tpr = np.r_[0.0, curve.recall]
        axes.plot(fpr, tpr)
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
        axes.set(xlabel="false positive rate", ylabel="true positive rate")
        axes.set_title(f"ROC (AUC {roc_auc(labels, scores):.4f})")
        return figure

    @staticmethod
    def _confusion(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Figure:
        alerts = flagged(scores, threshold)
        fraud = labels == 1
        counts = np.array(
            [
                [(~fraud & ~alerts).sum(), (~fraud & alerts).sum()],
                [(fraud & ~alerts).sum(), (fraud & alerts).sum()],
            ]
        )
        figure, axes = plt.subplots(figsize=(4.5, 4))
        axes.imshow(np.log1p(counts), cmap="Blues")
        for (row, column), count in np.ndenumerate(counts):
            axes.text(column, row, f"{count:,}", ha="center", va="center")
        axes.set_xticks([0, 1], ["legit", "flagged"])
        axes.set_yticks([0, 1], ["legit", "fraud"])
        axes.set(xlabel="decision", ylabel="truth")
        axes.set_title(f"Confusion at threshold {threshold:.4f}")
        return figure

    def _importance(self, importance: dict[str, float]) -> Figure:
        top = sorted(importance.items(), key=lambda item: item[1])[-self._top_features :]
        figure, axes = plt.subplots(figsize=(5, 0.25 * len(top) + 1))
        axes.barh([name for name, _ in top], [gain for _, gain in top])
        axes.set(xlabel="total gain")
        axes.set_title("Feature importance")
        return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()
