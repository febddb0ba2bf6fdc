"""Content-addressed dataset storage."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from fraud_detection.domain.dataset import DatasetId, DatasetRef

if TYPE_CHECKING:  # annotations only: the model registry's commands (`fraud model list`) load no frame
    import pandas as pd

SHOWN = 10  # candidates an ambiguous prefix names
FULL_ID_LENGTH = 64  # SHA-256, hex


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

    @abstractmethod
    def remove(self, dataset_id: DatasetId, note: str) -> None:
        """Delete a dataset's rows; `note` (when, by whom, why) stays in its place, and `get` of the id then
        raises `DatasetNotFoundError` quoting it. Saving the same rows again stores them again."""

    def resolve(self, id_or_prefix: str) -> DatasetRef:
        """Find a dataset by full id or any unique prefix (as printed, 12 hex characters, or fewer); an
        ambiguous prefix names the datasets it matches, so the user sees how many characters to add."""
        from fraud_detection.domain.errors import DatasetNotFoundError, DatasetRemovedError

        matches = (
            [ref for ref in self.list() if ref.id.value.startswith(id_or_prefix)] if id_or_prefix else []
        )
        if not matches and len(id_or_prefix) == FULL_ID_LENGTH:
            try:
                return self.get(DatasetId(id_or_prefix))  # one `list` missed (a manifest just written)
            except DatasetRemovedError:
                raise  # its message quotes the prune's note: when, by whom, which versions
            except DatasetNotFoundError:
                pass  # never stored: said below
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(ref.id.short for ref in matches[:SHOWN])
            more = f" and {len(matches) - SHOWN} more" if len(matches) > SHOWN else ""
            problem = f"matches several datasets: {shown}{more}; give more characters"
        else:
            problem = "matches no stored dataset"
        raise DatasetNotFoundError(f"dataset '{id_or_prefix}' {problem} (see `fraud data list`)")
