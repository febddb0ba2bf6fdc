"""The FeedbackStore adapters against real SQLite and a real redis-server: one contract, both adapters, plus
each one's retention and concurrency (several processes on one SQLite file; several Redis clients)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.feedback import LabelInput, LabelOutcome, ScoredTransaction, TimeWindow
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.infrastructure.redis.feedback_store import RedisFeedbackStore
from fraud_detection.infrastructure.sqlite.feedback_store import SqliteFeedbackStore
from tests.feedback_fakes import FakeFeedbackStore
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.integration

# Within the default retention of the real clock (the stores prune and expire by it).
T0 = datetime.now(UTC).replace(microsecond=250_000) - timedelta(days=20)
DAY = 86_400.0


def scored(transaction_id: str, version: int = 1, at: datetime = T0, probability: float = 0.8125):
    return ScoredTransaction(transaction_id, version, probability, probability >= 0.5, at)


@pytest.fixture(params=["sqlite", "redis", "fake"])
def make_store(request, tmp_path) -> Callable[..., FeedbackStore]:
    """The contract below holds for both adapters, and for the unit tests' in-memory fake: the use-case
    tests that rely on the fake's outcomes (duplicate, conflict, first scoring kept) rely on what is checked
    here."""

    def build(retention_days: float = 180.0, clock: Callable[[], float] = time.time) -> FeedbackStore:
        if request.param == "fake":
            return FakeFeedbackStore()
        if request.param == "sqlite":
            return SqliteFeedbackStore(tmp_path / "feedback.db", retention_days=retention_days, clock=clock)
        server = request.getfixturevalue("redis_server")
        prefix = f"test:{uuid.uuid4().hex}"
        return RedisFeedbackStore.from_url(
            server.url(), retention_days=retention_days, prefix=prefix, clock=clock
        )

    return build


def test_outcomes_of_labels_and_only_new_ones_change_anything(make_store):
    store = make_store()
    store.record_scored([scored("a"), scored("b", probability=0.25)])
    assert store.add_label("a", True, T0 + timedelta(days=3)) is LabelOutcome.NEW
    assert store.add_label("a", True, T0 + timedelta(days=4)) is LabelOutcome.DUPLICATE
    assert store.add_label("a", False, T0 + timedelta(days=5)) is LabelOutcome.CONFLICT
    assert store.add_label("never-scored", True, T0) is LabelOutcome.UNKNOWN
    (record,) = store.labels()
    assert (record.transaction_id, record.is_fraud, record.labelled_at) == ("a", True, T0 + timedelta(days=3))
    assert record.scored == scored("a")


def test_a_batch_is_applied_in_order_and_stamped_when_received(make_store):
    store = make_store()
    store.record_scored([scored("a"), scored("b")])
    labels = [LabelInput("a", True), LabelInput("a", True), LabelInput("a", False), LabelInput("zz", True),
              LabelInput("b", False, T0 + timedelta(hours=1))]  # fmt: skip
    received = T0 + timedelta(days=2)
    assert store.add_labels(labels, received) == [
        LabelOutcome.NEW, LabelOutcome.DUPLICATE, LabelOutcome.CONFLICT, LabelOutcome.UNKNOWN,
        LabelOutcome.NEW,
    ]  # fmt: skip
    assert [(r.transaction_id, r.labelled_at) for r in store.labels()] == [
        ("b", T0 + timedelta(hours=1)), ("a", received),
    ]  # fmt: skip
    assert store.add_labels([], received) == []


def test_the_first_scoring_is_kept_and_a_rescore_never_replaces_it(make_store):
    """The label-poisoning attack: a later scoring of the same id (with other features) must not become
    what the label is matched with."""
    store = make_store()
    store.record_scored([scored("a", version=1)])
    store.record_scored([scored("a", version=2, at=T0 + timedelta(seconds=10), probability=0.125)])
    store.add_label("a", True, T0 + timedelta(days=1))
    store.record_scored([scored("a", version=3, at=T0 + timedelta(seconds=20), probability=0.875)])
    (record,) = store.labels()
    assert record.is_fraud is True
    assert record.scored == scored("a", version=1)
    window = TimeWindow(T0, T0 + timedelta(seconds=1))
    assert [r.transaction_id for r in store.labelled_in(window)] == ["a"]  # indexed at its first time
    assert list(store.labelled_in(TimeWindow(T0 + timedelta(seconds=10), T0 + timedelta(seconds=30)))) == []


def test_labels_since_and_the_scoring_window(make_store):
    store = make_store()
    store.record_scored([scored(f"t{i}", at=T0 + timedelta(hours=i)) for i in range(6)])
    for i in range(5):  # t5 stays unlabelled
        store.add_label(f"t{i}", i % 2 == 0, T0 + timedelta(days=10 - i))
    assert [r.transaction_id for r in store.labels()] == ["t4", "t3", "t2", "t1", "t0"]
    assert [r.transaction_id for r in store.labels(since=T0 + timedelta(days=8))] == ["t2", "t1", "t0"]
    window = TimeWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=3))  # [start, end)
    inside = sorted((r.transaction_id, r.is_fraud) for r in store.labelled_in(window))
    assert inside == [("t1", False), ("t2", True)]


def test_many_rows_in_one_call(make_store):
    store = make_store()
    store.record_scored([scored(f"id-{i}", at=T0 + timedelta(milliseconds=i)) for i in range(2_500)])
    outcomes = store.add_labels([LabelInput(f"id-{i}", i % 7 == 0) for i in range(0, 2_600, 2)], T0)
    assert Counter(outcomes) == {LabelOutcome.NEW: 1_250, LabelOutcome.UNKNOWN: 50}
    window = TimeWindow(T0, T0 + timedelta(days=1))
    assert len(list(store.labelled_in(window))) == 1_250


def test_sqlite_prunes_rows_past_retention(tmp_path):
    now = [T0.timestamp() + DAY]
    store = SqliteFeedbackStore(tmp_path / "f.db", retention_days=30, clock=lambda: now[0])
    old, recent = T0, T0 + timedelta(days=90)
    store.record_scored([scored("old"), scored("old-labelled-late"), scored("old-labelled-early"),
                         scored("recent", at=recent)])  # fmt: skip
    store.add_label("old-labelled-late", True, recent)  # labelled 10 days before `now`: kept
    store.add_label("old-labelled-early", True, old + timedelta(days=5))
    assert store.prune() == 0
    now[0] = T0.timestamp() + 100 * DAY
    assert store.prune() == 2
    assert store.add_label("old", True, recent) is LabelOutcome.UNKNOWN
    assert store.add_label("recent", False, recent) is LabelOutcome.NEW
    assert [r.transaction_id for r in store.labels()] == ["old-labelled-late", "recent"]


def test_sqlite_uses_wal_and_reports_an_unusable_file(tmp_path):
    store = SqliteFeedbackStore(tmp_path / "nested" / "f.db")
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(ServiceUnavailableError, match="feedback store"):
        SqliteFeedbackStore(tmp_path)  # a directory


def test_redis_records_expire_after_the_retention_and_indexes_are_trimmed(redis_server):
    client = redis.Redis.from_url(redis_server.url(), decode_responses=True)
    now = [T0.timestamp() + 10 * DAY]
    store = RedisFeedbackStore(
        client, retention_days=2, prefix=f"ttl:{uuid.uuid4().hex}", clock=lambda: now[0]
    )
    store.record_scored([scored("a"), scored("b", at=T0 + timedelta(days=9))])
    assert 2 * DAY - 5 <= client.ttl(store.record_key("a")) <= 2 * DAY
    store.add_label("a", True, T0 + timedelta(days=1))  # scored and labelled more than 2 days before `now`
    store.add_label("b", True, T0 + timedelta(days=9, hours=1))
    assert 2 * DAY - 5 <= client.ttl(store.record_key("a")) <= 2 * DAY  # refreshed by the label
    # "a" left both indexes when "b" was labelled (the trim runs on every label)
    assert [r.transaction_id for r in store.labels()] == ["b"]
    assert [
        r.transaction_id
        for r in store.labelled_in(TimeWindow(T0 - timedelta(days=1), T0 + timedelta(days=20)))
    ] == ["b"]
    client.delete(store.record_key("b"))  # as if expired: the index entry is skipped, not an error
    assert store.labels() == []


def test_redis_labelling_is_atomic_across_clients(redis_server):
    prefix = f"race:{uuid.uuid4().hex}"
    stores = [RedisFeedbackStore.from_url(redis_server.url(), prefix=prefix) for _ in range(4)]
    ids = [f"r{i}" for i in range(200)]
    stores[0].record_scored([scored(i) for i in ids])
    outcomes: list[LabelOutcome] = []
    lock = threading.Barrier(len(stores))

    def label(store: FeedbackStore, is_fraud: bool) -> None:
        lock.wait()
        result = store.add_labels([LabelInput(i, is_fraud) for i in ids], T0)
        outcomes.extend(result)

    threads = [threading.Thread(target=label, args=(s, n % 2 == 0)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes)[LabelOutcome.NEW] == len(ids)  # exactly one writer won each id
    assert Counter(outcomes)[LabelOutcome.UNKNOWN] == 0


def test_redis_down_is_service_unavailable():
    store = RedisFeedbackStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ServiceUnavailableError, match="Redis"):
        store.add_label("a", True, T0)
    with pytest.raises(ServiceUnavailableError):
        store.record_scored([scored("a")])


def _worker(path: str, worker: int, ids: list[str], results) -> None:
    """One API worker process: records its own scored ids while labelling the shared ones."""
    store = SqliteFeedbackStore(Path(path))
    outcomes = []
    for i, transaction_id in enumerate(ids):
        store.record_scored([scored(f"w{worker}-{i}-{j}") for j in range(20)])
        outcomes += store.add_labels([LabelInput(transaction_id, worker % 2 == 0)], T0)
    results.put([outcome.value for outcome in outcomes])


@pytest.mark.slow
def test_sqlite_is_safe_across_processes(tmp_path):
    path = tmp_path / "shared.db"
    ids = [f"s{i}" for i in range(60)]
    SqliteFeedbackStore(path).record_scored([scored(i) for i in ids])
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(str(path), n, ids, results)) for n in range(3)]
    for process in workers:
        process.start()
    outcomes = Counter(value for _ in workers for value in results.get(timeout=120))
    for process in workers:
        process.join(30)
        assert process.exitcode == 0
    assert outcomes["new"] == len(ids)  # one winner per id, the others duplicate or conflict
    assert outcomes["new"] + outcomes["duplicate"] + outcomes["conflict"] == 3 * len(ids)
    store = SqliteFeedbackStore(path)
    window = TimeWindow(T0, T0 + timedelta(seconds=1))
    assert len(list(store.labelled_in(window))) == len(ids)
    assert store.add_labels([LabelInput(f"w{n}-59-19", True) for n in range(3)], T0) == [LabelOutcome.NEW] * 3
