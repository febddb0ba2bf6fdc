"""Preallocated columns that request threads copy scored rows into.

Queuing the `PredictionBatch` objects themselves kept thousands of GC-tracked objects alive for up to
`max_seconds`; they survived the young generations and set off full collections that stalled the server
(~180 ms every ~10 s at 2,500 rps). Copying the values into arrays allocated once leaves nothing per request
alive after `append` returns: numpy arrays, and the str/None held by the object columns, are not tracked by
the garbage collector.
"""

from __future__ import annotations

from sys import getsizeof

import numpy as np

from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log.layout import hour_order
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import INPUT_NAMES

INPUT_WIDTH = len(INPUT_NAMES)
LAST_SCORED_AT = 253_402_300_800.0  # 10000-01-01T00:00:00Z: later times have no YYYY key
COPY_ERRORS = (
    ValueError,
    TypeError,
    OverflowError,
    IndexError,
)  # what numpy raises for values it cannot store


# Bytes a queued row holds in the preallocated columns (29 inputs, 4 more floats, 3 int64, a bool, 3 object
# pointers): 313. The strings it references are counted per row in `text_bytes`.
SLOT_BYTES = INPUT_WIDTH * 8 + 4 * 8 + 3 * 8 + 1 + 3 * 8


def batch_problem(batch: PredictionBatch, rows: int) -> str | None:
    """What makes a batch unwritable (shapes that disagree, an unusable timestamp), or None. Constant time:
    it looks at shapes and scalars only; numpy checks the values' types while copying them."""
    if (
        batch.inputs.shape == (rows, INPUT_WIDTH)
        and batch.times.shape == batch.decisions.shape == (rows,)
        and len(batch.transaction_ids) == rows
        and (not isinstance(batch.request_id, tuple) or len(batch.request_id) == rows)
        and 0.0 <= batch.scored_at < LAST_SCORED_AT  # False for NaN and infinities too
    ):
        return None
    shapes = {
        "inputs": batch.inputs.shape == (rows, INPUT_WIDTH),
        "times": batch.times.shape == (rows,),
        "transaction_ids": len(batch.transaction_ids) == rows,
        "request_id": not isinstance(batch.request_id, tuple) or len(batch.request_id) == rows,
        "decisions": batch.decisions.shape == (rows,),
    }
    wrong = [name for name, ok in shapes.items() if not ok]
    if wrong:
        return f"{', '.join(wrong)} do not match {rows} probabilities"
    return f"scored_at {batch.scored_at!r} is not a Unix time in years 1970-9999"


class ColumnBuffer:
    """Room for `capacity` rows, one array per column. Rows `start:stop` are pending: rows before `start`
    were written or dropped. `batch_numbers` tells which append each row came from, so a batch that turns
    out unwritable at flush can be dropped whole. `appended_at`: monotonic time of the first pending row.
    `text_bytes` is the size of the strings a row holds (its transaction id, and its request id when the
    batch has one per row; the first row of a batch also counts the batch's model name and single request
    id), for the queue's byte bound. Rows `0:journaled` are in the local journal (file chunks of
    `journal_id`); `generation` changes when the buffer is reused."""

    __slots__ = (
        "appended_at",
        "batch_numbers",
        "capacity",
        "decisions",
        "generation",
        "inputs",
        "journal_chunks",
        "journal_id",
        "journaled",
        "model_ms",
        "model_names",
        "model_versions",
        "probabilities",
        "request_ids",
        "scored_at",
        "start",
        "stop",
        "text_bytes",
        "times",
        "transaction_ids",
    )

    def __init__(self, capacity: int) -> None:
        self.inputs = np.empty((capacity, INPUT_WIDTH), dtype=np.float64)
        self.times = np.empty(capacity, dtype=np.float64)
        self.probabilities = np.empty(capacity, dtype=np.float64)
        self.decisions = np.empty(capacity, dtype=np.bool_)
        self.model_versions = np.empty(capacity, dtype=np.int64)
        self.scored_at = np.empty(capacity, dtype=np.float64)
        self.model_ms = np.empty(capacity, dtype=np.float64)
        self.batch_numbers = np.empty(capacity, dtype=np.int64)
        self.text_bytes = np.zeros(capacity, dtype=np.int64)
        self.transaction_ids = np.full(capacity, None, dtype=object)
        self.request_ids = np.full(capacity, None, dtype=object)
        self.model_names = np.full(capacity, None, dtype=object)
        self.capacity = capacity
        self.start = 0
        self.stop = 0
        self.appended_at = 0.0
        self.journal_id = -1
        self.journaled = 0
        self.journal_chunks = 0
        self.generation = 0

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def bytes_of(self, begin: int, end: int) -> int:
        """Bytes held by rows `begin:end` (slots and strings)."""
        if end <= begin:
            return 0
        return SLOT_BYTES * (end - begin) + int(self.text_bytes[begin:end].sum())

    def put_row(self, batch: PredictionBatch, number: int) -> int:
        """`put` for a one-row batch (the online case), item by item: numpy's slice assignments cost ~150 ns
        each against ~40-70 ns for an item, which keeps that append near a microsecond. Returns the bytes
        the row holds."""
        i = self.stop
        request_id = batch.request_id[0] if isinstance(batch.request_id, tuple) else batch.request_id
        text = getsizeof(batch.transaction_ids[0]) + getsizeof(request_id) + getsizeof(batch.model_name)
        self.inputs[i] = batch.inputs  # (1, 29) into one row
        self.times[i] = batch.times[0]
        self.probabilities[i] = batch.probabilities[0]
        self.decisions[i] = batch.decisions[0]
        self.transaction_ids[i] = batch.transaction_ids[0]
        self.scored_at[i] = batch.scored_at
        self.model_ms[i] = batch.model_ms
        self.model_versions[i] = batch.model_version
        self.request_ids[i] = request_id
        self.model_names[i] = batch.model_name
        self.batch_numbers[i] = number
        self.text_bytes[i] = text
        self.stop = i + 1
        return SLOT_BYTES + text

    def put(self, batch: PredictionBatch, number: int, begin: int, end: int) -> int:
        """Copy the batch's rows `begin:end` after the last row (the caller checked the shapes and the room).
        numpy raises one of COPY_ERRORS for a value it cannot store; `stop` moves last, so then nothing is
        added. Returns the bytes the rows hold."""
        i = self.stop
        j = i + end - begin
        text = np.fromiter(map(getsizeof, batch.transaction_ids[begin:end]), np.int64, end - begin)
        request_id = batch.request_id
        if isinstance(request_id, tuple):  # one per row (rows of several requests): each counts
            request_id = request_id[begin:end]
            text += np.fromiter(map(getsizeof, request_id), np.int64, end - begin)
        elif begin == 0:
            text[0] += getsizeof(request_id)
        if begin == 0:
            text[0] += getsizeof(batch.model_name)
        self.inputs[i:j] = batch.inputs[begin:end]
        self.times[i:j] = batch.times[begin:end]
        self.probabilities[i:j] = batch.probabilities[begin:end]
        self.decisions[i:j] = batch.decisions[begin:end]
        self.transaction_ids[i:j] = batch.transaction_ids[begin:end]
        self.scored_at[i:j] = batch.scored_at
        self.model_ms[i:j] = batch.model_ms
        self.model_versions[i:j] = batch.model_version
        self.request_ids[i:j] = request_id
        self.model_names[i:j] = batch.model_name
        self.batch_numbers[i:j] = number
        self.text_bytes[i:j] = text
        self.stop = j
        return SLOT_BYTES * (j - i) + int(text.sum())

    def group_by_hour(self) -> None:
        """Reorder the pending rows so each UTC hour's rows are contiguous (a no-op within one hour)."""
        order = hour_order(self.scored_at[self.start : self.stop])
        if order is not None:
            self.keep(self.start + order)

    def keep(self, rows: np.ndarray) -> None:
        """Make `rows` (indices into the arrays, in that order) the pending rows, from `start` on."""
        end = self.start + len(rows)
        for column in self._columns():
            column[self.start : end] = column[rows]  # fancy indexing copies first, so overlap is safe
        self.stop = end

    def reset(self) -> None:
        """Empty the buffer for reuse, releasing the strings it holds."""
        for column in (self.transaction_ids, self.request_ids, self.model_names):
            column[: self.stop] = None
        self.start = self.stop = 0
        self.journal_id, self.journaled, self.journal_chunks = -1, 0, 0

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (
            self.inputs,
            self.times,
            self.probabilities,
            self.decisions,
            self.model_versions,
            self.scored_at,
            self.model_ms,
            self.batch_numbers,
            self.text_bytes,
            self.transaction_ids,
            self.request_ids,
            self.model_names,
        )
