"""Gradient-boosted trees: fold fits that record their evaluation log-loss per round, and the final refit."""

from __future__ import annotations

from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd

from fraud_detection.domain.ports.modelling import FoldFit, FraudModel, ModelTrainer, RoundCallback
from fraud_detection.domain.training import LabelledData, TrainingParams
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel


def booster_params(params: TrainingParams) -> dict[str, object]:
    """LightGBM's parameter dict for our `TrainingParams` (also used by the benchmark's bare baseline)."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_child_samples": params.min_child_samples,
        "min_sum_hessian_in_leaf": params.min_sum_hessian_in_leaf,
        "feature_fraction": params.feature_fraction,
        "bagging_fraction": params.bagging_fraction,
        "bagging_freq": params.bagging_freq,
        "lambda_l2": params.lambda_l2,
        "scale_pos_weight": params.scale_pos_weight,
        "seed": params.seed,
        "num_threads": params.threads,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


def round_callbacks(on_round: RoundCallback | None) -> list[Callable[[lgb.callback.CallbackEnv], None]]:
    """LightGBM's per-round callback telling `on_round` (rounds done, most rounds), if one is given."""
    if on_round is None:
        return []

    def told(env: lgb.callback.CallbackEnv) -> None:
        on_round(env.iteration + 1 - env.begin_iteration, env.end_iteration - env.begin_iteration)

    return [told]


class LightGBMFoldFit(FoldFit):
    def __init__(self, booster: lgb.Booster, valid_loss: list[float], threads: int) -> None:
        self._booster = booster
        self._valid_loss = np.asarray(valid_loss, dtype=np.float64)
        self._threads = threads

    @property
    def valid_loss(self) -> np.ndarray:
        return self._valid_loss

    def scores(self, features: pd.DataFrame, rounds: int) -> np.ndarray:
        matrix = features.to_numpy(dtype=np.float64)
        return np.asarray(self._booster.predict(matrix, num_iteration=rounds, num_threads=self._threads))


class LightGBMTrainer(ModelTrainer):
    def fit_fold(
        self,
        train: LabelledData,
        valid: LabelledData,
        params: TrainingParams,
        on_round: RoundCallback | None = None,
    ) -> FoldFit:
        train_set = lgb.Dataset(train.features, label=train.labels, free_raw_data=True)
        valid_set = lgb.Dataset(valid.features, label=valid.labels, reference=train_set)
        history: dict[str, dict[str, list[float]]] = {}
        booster = lgb.train(
            booster_params(params),
            train_set,
            num_boost_round=params.max_rounds,
            valid_sets=[valid_set],
            valid_names=["valid"],
            callbacks=[
                lgb.early_stopping(params.early_stopping_rounds, verbose=False),
                lgb.record_evaluation(history),
                *round_callbacks(on_round),
            ],
        )
        booster.free_dataset()
        return LightGBMFoldFit(booster, history["valid"]["binary_logloss"], params.threads)

    def fit(
        self,
        train: LabelledData,
        params: TrainingParams,
        rounds: int,
        on_round: RoundCallback | None = None,
    ) -> FraudModel:
        train_set = lgb.Dataset(train.features, label=train.labels, free_raw_data=True)
        booster = lgb.train(
            booster_params(params), train_set, num_boost_round=rounds, callbacks=round_callbacks(on_round)
        )
        booster.free_dataset()
        return LightGBMFraudModel(booster, threads=params.threads)
