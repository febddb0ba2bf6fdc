"""Dataset identity: a content hash, so the same transactions get the same key whatever file they came in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraud_detection.domain.schema import LABEL, TRANSACTION_COLUMNS

if TYPE_CHECKING:  # refs are read by commands that load no frame (`fraud model list`): pandas costs ~0.5 s
    import pandas as pd

SHORT_ID_LENGTH = 12


@dataclass(frozen=True)
class DatasetId:
    """SHA-256 of the schema-ordered float64 values; `0` and `0.0` in a CSV hash alike."""

    value: str

    @property
    def short(self) -> str:
        return self.value[:SHORT_ID_LENGTH]

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, frame: pd.DataFrame) -> DatasetId:
        import numpy as np  # loaded with the frame already

        digest = hashlib.sha256()
        for column in TRANSACTION_COLUMNS:
            digest.update(column.encode())
            values = np.ascontiguousarray(frame[column].to_numpy(dtype=np.float64))
            digest.update(values.tobytes())
        return cls(digest.hexdigest())


@dataclass(frozen=True)
class DatasetRef:
    """What the store knows about a saved dataset."""

    id: DatasetId
    uri: str
    rows: int
    frauds: int
    source: str
    created_at: str
    # The latest save of these rows (content-addressed: saving them again keeps the first ref, so its
    # `created_at`); what a prune's minimum age counts from. "" on a manifest from before it was kept.
    saved_at: str = ""

    @property
    def fraud_rate(self) -> float:
        return self.frauds / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id.value,
            "uri": self.uri,
            "rows": self.rows,
            "frauds": self.frauds,
            "source": self.source,
            "created_at": self.created_at,
            **({"saved_at": self.saved_at} if self.saved_at else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> DatasetRef:
        return cls(
            id=DatasetId(str(data["id"])),
            uri=str(data["uri"]),
            rows=int(str(data["rows"])),
            frauds=int(str(data["frauds"])),
            source=str(data["source"]),
            created_at=str(data["created_at"]),
            saved_at=str(data.get("saved_at", "")),
        )


def count_frauds(frame: pd.DataFrame) -> int:
    return int(frame[LABEL].sum())
