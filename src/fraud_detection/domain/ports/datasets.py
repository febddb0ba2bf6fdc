"""Content-addressed dataset storage."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from fraud_detection.domain.dataset import DatasetId, DatasetRef

SHOWN = 10  # candidates an ambiguous prefix names


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
        """Find a dataset by full id or any unique prefix (as printed, 12 hex characters, or fewer); an
        ambiguous prefix names the datasets it matches, so the user sees how many characters to add."""
        from fraud_detection.domain.errors import DatasetNotFoundError

        matches = (
            [ref for ref in self.list() if ref.id.value.startswith(id_or_prefix)] if id_or_prefix else []
        )
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(ref.id.short for ref in matches[:SHOWN])
            more = f" and {len(matches) - SHOWN} more" if len(matches) > SHOWN else ""
            problem = f"matches several datasets: {shown}{more}; give more characters"
        else:
            problem = "matches no stored dataset"
        raise DatasetNotFoundError(f"dataset '{id_or_prefix}' {problem} (see `fraud data list`)")
