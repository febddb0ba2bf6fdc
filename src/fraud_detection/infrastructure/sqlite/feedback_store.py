"""The default FeedbackStore: one SQLite table keyed by transaction id, in a file under FRAUD_HOME.

WAL mode lets the uvicorn workers of one host read while one of them writes; every write is a short
`BEGIN IMMEDIATE` transaction (a writer waits up to `busy_timeout_seconds` for another, never fails at once),
so labelling is atomic per id across processes. Each call opens its own connection: no connection is shared
between threads or inherited across a fork. Rows older than the retention (by scoring time, and by labelling
time for labelled rows) are pruned at most once per `prune_interval_seconds`, in small transactions.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from fraud_detection.domain.errors import ServiceUnavailableError, StorageFullError
from fraud_detection.domain.feedback import (
    LabelInput,
    LabelOutcome,
    LabelRecord,
    ScoredTransaction,
    TimeWindow,
)
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.infrastructure.local.disk_space import io_error_advice

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400
PRUNE_CHUNK_ROWS = 10_000
FETCH_ROWS = 1_000
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feedback (
        transaction_id TEXT PRIMARY KEY,
        model_version INTEGER NOT NULL,
        probability REAL NOT NULL,
        decision INTEGER NOT NULL,
        scored_at REAL NOT NULL,
        is_fraud INTEGER,
        labelled_at REAL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS feedback_scored_at ON feedback (scored_at)",
    # Partial indexes: only labelled rows, a small share of all scored ones.
    "CREATE INDEX IF NOT EXISTS feedback_labelled_at ON feedback (labelled_at) WHERE labelled_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS feedback_labelled_scored_at ON feedback (scored_at) "
    "WHERE labelled_at IS NOT NULL",
)
# The first scoring of an id is kept: a re-score (a retry, or someone else naming the id) is answered but
# never replaces the decision a later label is matched with.
INSERT_SCORED = """
    INSERT INTO feedback (transaction_id, model_version, probability, decision, scored_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (transaction_id) DO NOTHING
"""
JOINED = (
    "SELECT transaction_id, is_fraud, labelled_at, model_version, probability, decision, scored_at "
    "FROM feedback WHERE labelled_at IS NOT NULL"
)
PRUNE = """
    DELETE FROM feedback WHERE transaction_id IN (
        SELECT transaction_id FROM feedback
        WHERE scored_at < ?1 AND (labelled_at IS NULL OR labelled_at < ?1) LIMIT ?2)
"""
Row = tuple[str, int, float, int, float, int, float]


class SqliteFeedbackStore(FeedbackStore):
    def __init__(
        self,
        path: Path,
        *,
        retention_days: float = 180.0,
        busy_timeout_seconds: float = 10.0,
        prune_interval_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention_days <= 0:
            raise ValueError("retention_days must be positive")
        self.path = Path(path)
        self._retention_seconds = retention_days * SECONDS_PER_DAY
        self._busy_timeout = busy_timeout_seconds
        self._prune_interval = prune_interval_seconds
        self._clock = clock
        self._next_prune = 0.0  # monotonic; the first write prunes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. a file system without shared memory
                logger.warning("feedback store %s: journal mode is %s, not WAL", self.path, mode)
            for statement in SCHEMA:
                connection.execute(statement)

    def record_scored(self, rows: Sequence[ScoredTransaction]) -> None:
        if not rows:
            return
        values = (  # a generator: no list of per-row tuples kept alive for the garbage collector to scan
            (r.transaction_id, r.model_version, r.probability, int(r.decision), r.scored_at.timestamp())
            for r in rows
        )
        # NORMAL is durable in WAL mode against a process crash; a power cut may lose the last commits of
        # this index, which only turns a few later labels into `unknown`.
        with self._connect(synchronous="NORMAL") as connection, _immediate(connection):
            connection.executemany(INSERT_SCORED, values)
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._prune_interval
            self.prune()

    def add_label(self, transaction_id: str, is_fraud: bool, labelled_at: datetime) -> LabelOutcome:
        return self.add_labels([LabelInput(transaction_id, is_fraud, labelled_at)], labelled_at)[0]

    def add_labels(self, labels: Sequence[LabelInput], received_at: datetime) -> list[LabelOutcome]:
        outcomes: list[LabelOutcome] = []
        with self._connect(synchronous="FULL") as connection, _immediate(connection):
            for label in labels:
                found = connection.execute(
                    "SELECT is_fraud FROM feedback WHERE transaction_id = ?", (label.transaction_id,)
                ).fetchone()
                if found is None:
                    outcomes.append(LabelOutcome.UNKNOWN)
                elif found[0] is None:
                    at = (label.labelled_at or received_at).timestamp()
                    connection.execute(
                        "UPDATE feedback SET is_fraud = ?, labelled_at = ? WHERE transaction_id = ?",
                        (int(label.is_fraud), at, label.transaction_id),
                    )
                    outcomes.append(LabelOutcome.NEW)
                else:
                    same = bool(found[0]) == label.is_fraud
                    outcomes.append(LabelOutcome.DUPLICATE if same else LabelOutcome.CONFLICT)
        return outcomes

    def labels(self, since: datetime | None = None) -> list[LabelRecord]:
        query = f"{JOINED} AND labelled_at >= ? ORDER BY labelled_at, transaction_id"
        start = since.timestamp() if since is not None else float("-inf")
        with self._connect() as connection:
            return [_record(row) for row in connection.execute(query, (start,))]

    def labelled_in(self, window: TimeWindow) -> Iterator[LabelRecord]:
        query = f"{JOINED} AND scored_at >= ? AND scored_at < ?"
        with self._connect() as connection:
            cursor = connection.execute(query, (window.start.timestamp(), window.end.timestamp()))
            while chunk := cursor.fetchmany(FETCH_ROWS):
                yield from (_record(row) for row in chunk)

    def prune(self) -> int:
        """Delete rows past the retention; returns how many (a few thousand per short transaction, so
        scoring processes never wait long for the write lock)."""
        cutoff = self._clock() - self._retention_seconds
        deleted = 0
        with self._connect(synchronous="NORMAL") as connection:
            while True:
                with _immediate(connection):
                    removed = connection.execute(PRUNE, (cutoff, PRUNE_CHUNK_ROWS)).rowcount
                deleted += removed
                if removed < PRUNE_CHUNK_ROWS:
                    return deleted

    @contextmanager
    def _connect(self, synchronous: str = "NORMAL") -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (transactions are explicit); SQLite errors such as a lock held
        beyond the timeout, a full disk or an unreadable file become ServiceUnavailableError."""
        try:
            connection = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise _unavailable(self.path, error) from error
        try:
            connection.execute(f"PRAGMA synchronous={synchronous}")
            yield connection
        except sqlite3.Error as error:
            raise _unavailable(self.path, error) from error
        finally:
            connection.close()


# SQLite's own words for the disk, not the store, at fault ("disk I/O error" on a full disk too: its advice
# depends on the space left, `io_error_advice`).
FULL_DISK, IO_ERROR = "database or disk is full", "disk I/O error"
# SQLITE_NOTADB and SQLITE_CORRUPT: the file itself is damaged; no retry mends it.
DAMAGED = ("file is not a database", "database disk image is malformed")


class FeedbackStoreDamagedError(ServiceUnavailableError):
    """The feedback store's file is not a (whole) SQLite database: the API answers 503 until it is replaced,
    and the message says so, where the CLI said "a service is down or unreachable; try again"."""

    advice_included = True


def _unavailable(path: Path, error: sqlite3.Error) -> ServiceUnavailableError:
    """A full or failing disk is StorageFullError, with what to do (the CLI called it "a service is down or
    unreachable": a disk-full probe); anything else (a lock held past the timeout) stays an outage."""
    if FULL_DISK in str(error):
        return StorageFullError(f"feedback store {path}: {error} (free space on that disk and try again)")
    if IO_ERROR in str(error):
        return StorageFullError(f"feedback store {path}: {error} ({io_error_advice(path)} and try again)")
    if any(sign in str(error) for sign in DAMAGED):
        return FeedbackStoreDamagedError(
            f"feedback store {path}: {error}: the file is damaged or not SQLite; move it aside and restore "
            "it from a backup (or start an empty store: labels recorded in it are then lost)"
        )
    return ServiceUnavailableError(f"feedback store {path}: {error}")


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    """Take the write lock up front: a read-then-write (labelling) cannot interleave with another writer."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _record(row: Row) -> LabelRecord:
    transaction_id, is_fraud, labelled_at, version, probability, decision, scored_at = row
    scored = ScoredTransaction(
        transaction_id,
        int(version),
        float(probability),
        bool(decision),
        datetime.fromtimestamp(scored_at, UTC),
    )
    return LabelRecord(transaction_id, bool(is_fraud), datetime.fromtimestamp(labelled_at, UTC), scored)
