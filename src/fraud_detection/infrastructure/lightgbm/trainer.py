"""Gradient-boosted trees with early stopping on the validation split."""

from __future__ import annotations

import lightgbm as lgb

from fraud_detection.domain.ports.modelling import FraudModel, ModelTrainer
from fraud_detection.domain.training import LabelledData, TrainingParams
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel


def booster_params(params: TrainingParams) -> dict[str, object]:
    """LightGBM's parameter dict for our `TrainingParams` (also used by the benchmark's bare baseline)."""
    return {
        "objective": "binary",
        "metric": "average_precision",
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


class LightGBMTrainer(ModelTrainer):
    def fit(self, train: LabelledData, valid: LabelledData, params: TrainingParams) -> FraudModel:
        train_set = lgb.Dataset(train.features, label=train.labels, free_raw_data=True)
        valid_set = lgb.Dataset(valid.features, label=valid.labels, reference=train_set)
        booster = lgb.train(
            booster_params(params),
            train_set,
            num_boost_round=params.max_rounds,
            valid_sets=[valid_set],
            valid_names=["valid"],
            callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
        )
        booster.free_dataset()
        return LightGBMFraudModel(booster, threads=params.threads)
