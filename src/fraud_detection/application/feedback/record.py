"""Record labels (one or a batch) and say, per item, what happened to each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.feedback import LabelInput, LabelResult, stale_label_problem
from fraud_detection.domain.ports.feedback import FeedbackStore


def utc_now() -> datetime:
    return datetime.now(UTC)


class RecordFeedback:
    """Times without a timezone are taken as UTC; a label without a time is stamped when it is received; a
    time before the retention is refused (`InvalidDataError` on `labelled_at`, its row the label's index),
    and then nothing of the batch is recorded."""

    def __init__(
        self,
        store: FeedbackStore,
        clock: Callable[[], datetime] = utc_now,
        retention_days: float | None = None,
    ) -> None:
        self._store, self._clock, self._retention_days = store, clock, retention_days

    def __call__(self, labels: Sequence[LabelInput], checked_at: datetime | None = None) -> list[LabelResult]:
        """`checked_at`: the time the retention is judged from (default now). An import that checked its
        whole file first passes that check's time, so a row at the edge cannot pass it and then be refused
        after earlier chunks were stored."""
        if not labels:
            return []
        stamped = [
            LabelInput(label.transaction_id, label.is_fraud, _as_utc(label.labelled_at)) for label in labels
        ]
        now = self._clock()
        if self._retention_days is not None:
            for row, label in enumerate(stamped):
                if label.labelled_at is None:
                    continue
                problem = stale_label_problem(label.labelled_at, checked_at or now, self._retention_days)
                if problem is not None:
                    raise InvalidDataError("labelled_at", problem, row=row)
        outcomes = self._store.add_labels(stamped, now)
        return [
            LabelResult(label.transaction_id, label.is_fraud, outcome)
            for label, outcome in zip(labels, outcomes, strict=True)
        ]


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
