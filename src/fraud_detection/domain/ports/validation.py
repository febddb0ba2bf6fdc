"""Data validation against the expectation suite."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from fraud_detection.domain.validation import ValidationReport


class DataValidator(ABC):
    @abstractmethod
    def validate(self, frame: pd.DataFrame, dataset_id: str) -> ValidationReport:
        """Run every expectation (never stop at the first failure) and report each outcome."""
