"""FeedbackStore on Redis, for several API replicas: records expire after the retention (key TTL, refreshed
when a transaction is scored again or labelled), and every write runs as a Lua script (see redis_scripts).

Memory: roughly 150-200 bytes per scored id held, so size Redis for ids per day x retention days. A Redis
Cluster would need every key in one hash slot (the scripts touch a record and the two indexes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.feedback import (
    LabelInput,
    LabelOutcome,
    LabelRecord,
    ScoredTransaction,
    TimeWindow,
)
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.infrastructure.redis.feedback_scripts import ADD_LABEL, RECORD_SCORED

SECONDS_PER_DAY = 86_400
ROWS_PER_SCRIPT = 500  # one script call holds Redis for ~1 ms at most
READ_CHUNK = 1_000
FIELDS = ("v", "p", "d", "s", "f", "l")


class RedisFeedbackStore(FeedbackStore):
    def __init__(
        self,
        client: redis.Redis,
        *,
        retention_days: float = 180.0,
        prefix: str = "fraud:feedback",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention_days <= 0:
            raise ValueError("retention_days must be positive")
        self._client = client
        self._retention_seconds = retention_days * SECONDS_PER_DAY
        self._ttl = max(math.ceil(self._retention_seconds), 1)
        self._prefix = prefix
        self._clock = clock
        self._record_scored = client.register_script(RECORD_SCORED)
        self._add_label = client.register_script(ADD_LABEL)
        self._by_labelled_at = f"{prefix}:labelled_at"
        self._by_scored_at = f"{prefix}:labelled_scored_at"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisFeedbackStore:
        """Short timeouts and two quick retries: a label request answers 503 within seconds when Redis is
        down, rather than after the client's default backoff (~8 s); the indexer retries on its own."""
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=2,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2),
        )
        return cls(client, **options)

    def record_key(self, transaction_id: str) -> str:
        return f"{self._prefix}:tx:{transaction_id}"

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        if not rows:
            return
        with self._errors(), self._client.pipeline(transaction=False) as pipe:
            for begin in range(0, len(rows), ROWS_PER_SCRIPT):
                chunk = rows[begin : begin + ROWS_PER_SCRIPT]
                keys = [self._by_scored_at, *(self.record_key(row.transaction_id) for row in chunk)]
                args: list[str | int | float] = [self._ttl]
                for row in chunk:
                    args += [row.transaction_id, row.model_version, repr(row.probability), int(row.decision),
                             repr(row.scored_at.timestamp())]  # fmt: skip
                self._record_scored(keys=keys, args=args, client=pipe)
            pipe.execute()

    def add_label(self, transaction_id: str, is_fraud: bool, labelled_at: datetime) -> LabelOutcome:
        return self.add_labels([LabelInput(transaction_id, is_fraud, labelled_at)], labelled_at)[0]

    def add_labels(self, labels: Sequence[LabelInput], received_at: datetime) -> list[LabelOutcome]:
        """One round trip; the scripts run in order, each atomically."""
        if not labels:
            return []
        cutoff = repr(self._clock() - self._retention_seconds)
        with self._errors(), self._client.pipeline(transaction=False) as pipe:
            for label in labels:
                at = (label.labelled_at or received_at).timestamp()
                keys = [self.record_key(label.transaction_id), self._by_labelled_at, self._by_scored_at]
                args: list[str | int] = [
                    label.transaction_id,
                    int(label.is_fraud),
                    repr(at),
                    self._ttl,
                    cutoff,
                ]
                self._add_label(keys=keys, args=args, client=pipe)
            outcomes = pipe.execute()
        return [LabelOutcome(str(outcome)) for outcome in outcomes]

    def labels(self, since: datetime | None = None) -> list[LabelRecord]:
        start = since.timestamp() if since is not None else "-inf"
        with self._errors():
            ids = _texts(self._client.zrangebyscore(self._by_labelled_at, start, "+inf"))
            records = list(self._records(ids))
        return sorted(records, key=lambda record: (record.labelled_at, record.transaction_id))

    def labelled_in(self, window: TimeWindow) -> Iterator[LabelRecord]:
        start, end = window.start.timestamp(), window.end.timestamp()
        with self._errors():
            ids = _texts(self._client.zrangebyscore(self._by_scored_at, start, f"({end!r}"))
            records = list(self._records(ids))
        return (record for record in records if window.contains(record.scored.scored_at))

    def _records(self, ids: list[str]) -> Iterator[LabelRecord]:
        """Joined records of labelled ids; ids whose record expired are skipped."""
        for begin in range(0, len(ids), READ_CHUNK):
            chunk = ids[begin : begin + READ_CHUNK]
            with self._client.pipeline(transaction=False) as pipe:
                for transaction_id in chunk:
                    pipe.hmget(self.record_key(transaction_id), FIELDS)
                values = pipe.execute()
            for transaction_id, fields in zip(chunk, values, strict=True):
                if all(value is not None for value in fields):
                    yield _record(transaction_id, fields)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as error:
            raise ServiceUnavailableError(f"feedback store (Redis): {error}") from error


def _texts(values: Any) -> list[str]:
    """Members as returned with decode_responses=True (the client's annotations cover every mode)."""
    return [str(value) for value in values]


def _record(transaction_id: str, fields: list[str]) -> LabelRecord:
    version, probability, decision, scored_at, is_fraud, labelled_at = fields
    scored = ScoredTransaction(
        transaction_id, int(version), float(probability), decision == "1",
        datetime.fromtimestamp(float(scored_at), UTC),
    )  # fmt: skip
    return LabelRecord(
        transaction_id, is_fraud == "1", datetime.fromtimestamp(float(labelled_at), UTC), scored
    )
