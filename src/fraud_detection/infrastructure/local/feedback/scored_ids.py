"""The queue between request threads and the indexer: preallocated columns of (id, version, probability,
decision, scored_at), double buffered.

As in the prediction log's column buffer, a request thread copies values into arrays allocated once, so
nothing per request stays alive for the garbage collector (the str ids held by the object column are not
tracked by it). Rows without a transaction id are skipped here. The indexer swaps the full buffer for the
spare, so appends never wait for a store call; when the current buffer is full (the store is down or slow)
further rows are dropped and counted: memory stays bounded and the request path never blocks.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.ports.prediction_log import PredictionBatch

NONE = np.array(None, dtype=object)  # compared element-wise with an object column of ids


class ScoredIdColumns:
    __slots__ = ("decisions", "ids", "probabilities", "scored_at", "stop", "versions")

    def __init__(self, capacity: int) -> None:
        self.ids = np.full(capacity, None, dtype=object)
        self.probabilities = np.empty(capacity, dtype=np.float64)
        self.decisions = np.empty(capacity, dtype=np.bool_)
        self.versions = np.empty(capacity, dtype=np.int64)
        self.scored_at = np.empty(capacity, dtype=np.float64)
        self.stop = 0

    @property
    def capacity(self) -> int:
        return len(self.ids)

    def rows(self) -> list[ScoredTransaction]:
        """The held rows as domain values (on the indexer's thread)."""
        n = self.stop
        moments: dict[float, datetime] = {}  # rows of one batch share their scoring time
        rows = []
        for transaction_id, version, probability, decision, scored_at in zip(
            self.ids[:n].tolist(),
            self.versions[:n].tolist(),
            self.probabilities[:n].tolist(),
            self.decisions[:n].tolist(),
            self.scored_at[:n].tolist(),
            strict=True,
        ):
            moment = moments.get(scored_at)
            if moment is None:
                moment = moments[scored_at] = datetime.fromtimestamp(scored_at, UTC)
            rows.append(ScoredTransaction(str(transaction_id), version, probability, decision, moment))
        return rows

    def reset(self) -> None:
        self.ids[: self.stop] = None  # release the strings
        self.stop = 0


class PendingScoredIds:
    """Request threads `add`; one indexer at a time `take`s the filled buffer and `release`s it when done."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._lock = threading.Lock()
        self._current = ScoredIdColumns(capacity)
        self._spare: ScoredIdColumns | None = ScoredIdColumns(capacity)
        self.rows_dropped = 0

    @property
    def queued_rows(self) -> int:
        return self._current.stop

    def add(self, batch: PredictionBatch) -> None:
        """Raises (TypeError, ValueError, IndexError...) for a malformed batch, having queued nothing."""
        ids = batch.transaction_ids
        if len(ids) == 1:  # the online case: item assignments, no temporary arrays
            if ids[0] is None:
                return
            self._lock.acquire()  # not `with`: cheaper, on the request path
            try:
                columns, i = self._current, self._current.stop
                if i == columns.capacity:
                    self.rows_dropped += 1
                    return
                columns.probabilities[i] = batch.probabilities[0]
                columns.decisions[i] = batch.decisions[0]
                columns.versions[i] = batch.model_version
                columns.scored_at[i] = batch.scored_at
                columns.ids[i] = ids[0]
                columns.stop = i + 1
            finally:
                self._lock.release()
            return
        kept_ids = np.empty(len(ids), dtype=object)
        kept_ids[:] = ids  # not np.asarray: that would split an id that is not a str into a second axis
        keep = np.not_equal(kept_ids, NONE)
        probabilities, decisions = batch.probabilities, batch.decisions
        if len(probabilities) != len(ids) or len(decisions) != len(ids):
            raise ValueError(f"{len(ids)} transaction ids for {len(probabilities)} probabilities")
        if not keep.all():  # a batch where only some rows carry an id
            kept_ids, probabilities, decisions = kept_ids[keep], probabilities[keep], decisions[keep]
        if not kept_ids.size:
            return
        with self._lock:
            columns, i = self._current, self._current.stop
            n = min(columns.capacity - i, kept_ids.size)
            self.rows_dropped += kept_ids.size - n
            columns.probabilities[i : i + n] = probabilities[:n]
            columns.decisions[i : i + n] = decisions[:n]
            columns.versions[i : i + n] = batch.model_version
            columns.scored_at[i : i + n] = batch.scored_at
            columns.ids[i : i + n] = kept_ids[:n]
            columns.stop = i + n

    def take(self) -> ScoredIdColumns | None:
        """The queued rows (None when there are none); new rows go to the spare meanwhile."""
        with self._lock:
            if not self._current.stop:
                return None
            if self._spare is None:
                raise RuntimeError("take() again before release(): one indexer at a time")
            taken, self._current, self._spare = self._current, self._spare, None
            return taken

    def release(self, columns: ScoredIdColumns) -> None:
        columns.reset()
        with self._lock:
            self._spare = columns
