"""Where labels meet the decisions they judge: scored transaction ids, and the labels that arrive later."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime

from fraud_detection.domain.feedback import (
    LabelInput,
    LabelOutcome,
    LabelRecord,
    ScoredTransaction,
    TimeWindow,
)


class FeedbackStore(ABC):
    """One record per transaction id, shared by every serving process and replica. Adding a label is atomic
    per id: of two processes labelling the same id, one gets `new` and the other `duplicate` or `conflict`.
    Storage failures raise `ServiceUnavailableError`."""

    @abstractmethod
    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        """Remember what was served (called off the request path). An id scored again keeps its FIRST
        scoring and any label it has: a re-score (a retry, or a caller naming an id it does not own) must
        never replace the decision and features a later label is matched with."""

    @abstractmethod
    def add_label(self, transaction_id: str, is_fraud: bool, labelled_at: datetime) -> LabelOutcome:
        """`unknown` for an id never scored (or past retention); `duplicate` for the label it already has;
        `conflict` for the other label. Only `new` changes anything."""

    def add_labels(self, labels: Sequence[LabelInput], received_at: datetime) -> list[LabelOutcome]:
        """`add_label` for each, in order (a repeated id sees the earlier item); labels without their own
        time are stamped `received_at`. Adapters override it to use one transaction or round trip."""
        return [
            self.add_label(label.transaction_id, label.is_fraud, label.labelled_at or received_at)
            for label in labels
        ]

    @abstractmethod
    def labels(self, since: datetime | None = None) -> list[LabelRecord]:
        """Labels recorded at or after `since` (all when None), joined with their scoring, oldest first."""

    @abstractmethod
    def labelled_in(self, window: TimeWindow) -> Iterator[LabelRecord]:
        """Labelled transactions that were scored within `window` (any order), for realised quality."""
