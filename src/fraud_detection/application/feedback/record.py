"""Record labels (one or a batch) and say, per item, what happened to each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from fraud_detection.domain.feedback import LabelInput, LabelResult
from fraud_detection.domain.ports.feedback import FeedbackStore


def utc_now() -> datetime:
    return datetime.now(UTC)


class RecordFeedback:
    """Times without a timezone are taken as UTC; a label without a time is stamped when it is received."""

    def __init__(self, store: FeedbackStore, clock: Callable[[], datetime] = utc_now) -> None:
        self._store, self._clock = store, clock

    def __call__(self, labels: Sequence[LabelInput]) -> list[LabelResult]:
        if not labels:
            return []
        stamped = [
            LabelInput(label.transaction_id, label.is_fraud, _as_utc(label.labelled_at)) for label in labels
        ]
        outcomes = self._store.add_labels(stamped, self._clock())
        return [
            LabelResult(label.transaction_id, label.is_fraud, outcome)
            for label, outcome in zip(labels, outcomes, strict=True)
        ]

    def one(self, transaction_id: str, is_fraud: bool, labelled_at: datetime | None = None) -> LabelResult:
        return self([LabelInput(transaction_id, is_fraud, labelled_at)])[0]


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
