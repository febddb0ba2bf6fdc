"""Training inputs: labelled data and the gradient-boosting parameters the trainer port understands."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LabelledData:
    features: pd.DataFrame
    labels: np.ndarray
    amounts: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def frauds(self) -> int:
        return int(self.labels.sum())


@dataclass(frozen=True)
class TrainingParams:
    """Defaults chosen on the real rows' validation split (learning rate 0.02, 15 leaves and half the
    features per tree led a 48-point grid); early stopping picks the number of rounds."""

    learning_rate: float = 0.02
    num_leaves: int = 15
    min_child_samples: int = 20
    feature_fraction: float = 0.5
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 0.0
    scale_pos_weight: float = 1.0
    max_rounds: int = 2_000
    early_stopping_rounds: int = 100
    seed: int = 42
    threads: int = 2

    def with_scale_pos_weight(self, weight: float) -> TrainingParams:
        return replace(self, scale_pos_weight=weight)

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)
