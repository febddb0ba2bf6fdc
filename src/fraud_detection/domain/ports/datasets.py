"""Content-addressed dataset storage."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from fraud_detection.domain.dataset import DatasetId, DatasetRef


class DatasetStore(ABC):
    """Saves validated-schema transaction frames under their content hash; saving twice is a no-op."""

    @abstractmethod
    def save(self, frame: pd.DataFrame, source: str) -> DatasetRef: ...

    @abstractmethod
    def load(self, dataset_id: DatasetId) -> pd.DataFrame: ...

    @abstractmethod
    def get(self, dataset_id: DatasetId) -> DatasetRef:
        """Raises `DatasetNotFoundError`."""

    @abstractmethod
    def list(self) -> list[DatasetRef]:
        """Newest first."""

    def resolve(self, id_or_prefix: str) -> DatasetRef:
        """Find a dataset by full id or a unique prefix (as printed, e.g. 12 hex characters)."""
        from fraud_detection.domain.errors import DatasetNotFoundError

        matches = [ref for ref in self.list() if ref.id.value.startswith(id_or_prefix)]
        if len(matches) == 1 and id_or_prefix:
            return matches[0]
        problem = "matches several datasets" if matches and id_or_prefix else "matches no stored dataset"
        raise DatasetNotFoundError(f"dataset '{id_or_prefix}' {problem} (see `fraud data list`)")
