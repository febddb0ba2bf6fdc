"""Evaluation plots (PR curve, ROC, confusion matrix, feature importance) rendered to PNG bytes."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class EvaluationPlotter(ABC):
    @abstractmethod
    def render(
        self,
        labels: np.ndarray,
        scores: np.ndarray,
        threshold: float,
        importance: dict[str, float],
        chance: np.ndarray | None = None,
    ) -> dict[str, bytes]:
        """File name (e.g. 'pr_curve.png') -> PNG bytes. `chance`: the calibrated fraud chance of each row
        for the reliability curve (default: the scores)."""
