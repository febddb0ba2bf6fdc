"""An in-memory FeedbackStore for unit tests of the feedback use cases (same outcomes as the adapters)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime

from fraud_detection.domain.feedback import LabelOutcome, LabelRecord, ScoredTransaction, TimeWindow
from fraud_detection.domain.ports.feedback import FeedbackStore


class FakeFeedbackStore(FeedbackStore):
    def __init__(self) -> None:
        self.scored: dict[str, ScoredTransaction] = {}
        self.labelled: dict[str, tuple[bool, datetime]] = {}
        self.record_calls = 0

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        self.record_calls += 1
        for row in rows:
            self.scored.setdefault(row.transaction_id, row)  # the first scoring is kept, as the real stores

    def add_label(self, transaction_id: str, is_fraud: bool, labelled_at: datetime) -> LabelOutcome:
        if transaction_id not in self.scored:
            return LabelOutcome.UNKNOWN
        if transaction_id in self.labelled:
            same = self.labelled[transaction_id][0] == is_fraud
            return LabelOutcome.DUPLICATE if same else LabelOutcome.CONFLICT
        self.labelled[transaction_id] = (is_fraud, labelled_at)
        return LabelOutcome.NEW

    def labels(self, since: datetime | None = None) -> list[LabelRecord]:
        records = [r for r in self._records() if since is None or r.labelled_at >= since]
        return sorted(records, key=lambda r: (r.labelled_at, r.transaction_id))

    def labelled_in(self, window: TimeWindow) -> Iterator[LabelRecord]:
        return (r for r in self._records() if window.contains(r.scored.scored_at))

    def _records(self) -> Iterator[LabelRecord]:
        for transaction_id, (is_fraud, labelled_at) in self.labelled.items():
            yield LabelRecord(transaction_id, is_fraud, labelled_at, self.scored[transaction_id])


class BlockingFeedbackStore(FakeFeedbackStore):
    """record_scored waits until released: a store call hanging on the network."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        self.entered.set()
        assert self.release.wait(30)
        super().record_scored(rows)
