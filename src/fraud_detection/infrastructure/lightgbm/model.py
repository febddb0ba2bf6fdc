"""A fitted LightGBM booster behind the `FraudModel` port."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.ports.modelling import FraudModel


class LightGBMFraudModel(FraudModel):
    def __init__(self, booster: lgb.Booster, threads: int = 2) -> None:
        self.booster = booster
        self._features = tuple(booster.feature_name())
        self._threads = threads

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._features

    @property
    def best_iteration(self) -> int:
        best = self.booster.best_iteration
        return int(best) if best and best > 0 else int(self.booster.current_iteration())

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self._matrix(features), num_threads=self._threads))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        matrix = self._matrix(features)
        return np.asarray(self.booster.predict(matrix, pred_contrib=True, num_threads=self._threads))

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(self._checked(features), num_threads=self._threads))

    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        checked = self._checked(features)
        return np.asarray(self.booster.predict(checked, pred_contrib=True, num_threads=self._threads))

    def to_text(self) -> str:
        """The booster as LightGBM's text model (what the local cache stores)."""
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str, threads: int = 2) -> LightGBMFraudModel:
        return cls(lgb.Booster(model_str=text), threads=threads)

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        return {name: float(gain) for name, gain in zip(self._features, gains, strict=True)}

    def _checked(self, features: np.ndarray) -> np.ndarray:
        if features.ndim != 2 or features.shape[1] != len(self._features):
            raise IncompatibleModelError(
                f"model expects {len(self._features)} feature columns, got array of shape {features.shape}"
            )
        return features

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        if tuple(features.columns) != self._features:
            raise IncompatibleModelError(
                f"model expects features {list(self._features)}, got {list(features.columns)}"
            )
        return features.to_numpy(dtype=np.float64)
