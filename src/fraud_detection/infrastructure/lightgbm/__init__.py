"""LightGBM implementation of the trainer and model ports."""

from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.lightgbm.trainer import LightGBMTrainer

__all__ = ["LightGBMFraudModel", "LightGBMTrainer"]
