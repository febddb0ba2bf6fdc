"""Fitting and scoring: the LightGBM adapter implements both."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the model registry's commands (`fraud model list`) load no frame
    import numpy as np
    import pandas as pd

    from fraud_detection.domain.training import LabelledData, TrainingParams


class FraudModel(ABC):
    """A fitted model over the features `domain.features` computes (`build_features`, `feature_matrix`)."""

    @property
    @abstractmethod
    def feature_names(self) -> tuple[str, ...]: ...

    @property
    @abstractmethod
    def best_iteration(self) -> int: ...

    @abstractmethod
    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Fraud probability per row, shape (n,)."""

    @abstractmethod
    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """Per-feature contributions to the raw score, shape (n, n_features + 1); last column: bias."""

    @abstractmethod
    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        """`predict_proba` for an (n, n_features) array already in `feature_names` order: the fast path
        of online scoring (no DataFrame); only the width is checked."""

    def predict_row(self, features: np.ndarray) -> float:
        """Probability of one row (1-D, `feature_names` order); adapters may override with a faster path."""
        return float(self.predict_matrix(features.reshape(1, -1))[0])

    @abstractmethod
    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        """`contributions` for an array in `feature_names` order."""

    @abstractmethod
    def feature_importance(self) -> dict[str, float]:
        """Total split gain per feature."""


class FoldFit(ABC):
    """A model fitted on one fold's earlier rows, trained round by round while its log-loss on the fold's
    evaluation rows still improved (the trainer's patience)."""

    @property
    @abstractmethod
    def valid_loss(self) -> np.ndarray:
        """Binary log-loss on the evaluation rows after each round, shape (rounds trained,)."""

    @abstractmethod
    def scores(self, features: pd.DataFrame, rounds: int) -> np.ndarray:
        """Fraud probability per row from the first `rounds` rounds."""


# Told after each boosting round: (rounds done, most rounds this fit may take). A fit on millions of rows
# runs for minutes; this is how its caller shows it is moving.
RoundCallback = Callable[[int, int], None]


class ModelTrainer(ABC):
    @abstractmethod
    def fit_fold(
        self,
        train: LabelledData,
        valid: LabelledData,
        params: TrainingParams,
        on_round: RoundCallback | None = None,
    ) -> FoldFit:
        """Fit on `train`, recording the log-loss on `valid` after each round."""

    @abstractmethod
    def fit(
        self,
        train: LabelledData,
        params: TrainingParams,
        rounds: int,
        on_round: RoundCallback | None = None,
    ) -> FraudModel:
        """Fit on every row of `train` for exactly `rounds` rounds (no validation rows: the rounds were
        chosen on the folds)."""
