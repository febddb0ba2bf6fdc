"""Captured predictions for drift checks, read from the prediction log's Parquet files."""

from __future__ import annotations

import sys
from collections.abc import Collection
from contextlib import closing
from dataclasses import fields, replace
from datetime import datetime

import numpy as np
import pyarrow as pa

from fraud_detection.domain.errors import TooManyCapturedRowsError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.ports.drift import CapturedPredictions, CapturedRows, transaction_keys
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.schema import TIME
from fraud_detection.infrastructure.arrow.prediction_log.numpy_view import arrow_to_numpy
from fraud_detection.infrastructure.arrow.prediction_log.reader import (
    LoggedPredictions,
    read_latest_predictions,
    read_predictions,
    read_tables,
)
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (
    DECISION,
    MODEL_MS,
    MODEL_NAME,
    MODEL_VERSION,
    PREDICTION_SCHEMA,
    PROBABILITY,
    SCORED_AT,
    TRANSACTION_ID,
)


class PredictionLogWindow(CapturedPredictions):
    def __init__(self, store: ObjectStore, prefix: str = "predictions") -> None:
        self._store, self._prefix = store, prefix

    def read(self, since: datetime | None, until: datetime | None, last_rows: int | None) -> CapturedRows:
        if last_rows is None:
            logged = read_predictions(self._store, self._prefix, since, until)
        else:
            logged = read_latest_predictions(self._store, last_rows, self._prefix, since, until)
        return _captured(logged)

    def read_ids(self, since: datetime | None, ids: Collection[str]) -> CapturedRows:
        """Filtered file by file (see read_predictions)."""
        return _captured(read_predictions(self._store, self._prefix, since, None, ids))

    def read_scores(
        self, since: datetime | None, until: datetime | None, max_rows: int | None = None
    ) -> CapturedRows:
        """Each file becomes NumPy columns as it is read: no inputs, ids as 8-byte keys, model names shared.
        49 bytes a row are kept (benchmarks/captured_reads.py: ~115 bytes a row of peak memory, against
        ~280 for one Arrow table of the window whose ids and names became Python strings at the end). With
        `max_rows`, the read stops at the file that passes it (the reads ahead are cancelled)."""
        skipped: list[str] = []
        pieces: list[CapturedRows] = []
        held = 0
        with closing(
            read_tables(self._store, self._prefix, since, until, skipped, columns=SCORE_COLUMNS)
        ) as files:
            for table in files:
                held += table.num_rows
                if max_rows is not None and held > max_rows:
                    raise TooManyCapturedRowsError(max_rows)
                pieces.append(_scores(table))
        return _joined(pieces, tuple(skipped))


# What rollout evidence reads of a captured row: no inputs, no `Time`, no request id.
SCORE_COLUMNS = (TRANSACTION_ID, PROBABILITY, DECISION, MODEL_NAME, MODEL_VERSION, SCORED_AT, MODEL_MS)


def _scores(table: pa.Table) -> CapturedRows:
    """One file's SCORE_COLUMNS as `read_scores` returns them."""

    def column(name: str) -> np.ndarray:
        return arrow_to_numpy(table.column(name).combine_chunks())

    return CapturedRows(
        inputs=np.empty((table.num_rows, 0)),
        probabilities=column(PROBABILITY).astype(np.float64, copy=False),
        decisions=column(DECISION).astype(bool, copy=False),
        model_names=_shared_names(table.column(MODEL_NAME).combine_chunks()),
        model_versions=column(MODEL_VERSION).astype(np.int64, copy=False),
        scored_at=column(SCORED_AT).astype("datetime64[us]"),
        model_ms=column(MODEL_MS).astype(np.float64, copy=False),
        transaction_keys=transaction_keys(table.column(TRANSACTION_ID).to_pylist()),
    )


def _shared_names(names: pa.Array) -> np.ndarray:
    """Model names as an object array of the few distinct strings, one reference (8 bytes) a row: a
    NumPy str array takes 4 bytes a character, and comparing interned strings is as fast."""
    if names.null_count:  # never written so; kept exact rather than fast
        return np.array(names.to_pylist(), dtype=object)
    encoded = names.dictionary_encode()
    distinct = np.array([sys.intern(name) for name in encoded.dictionary.to_pylist()], dtype=object)
    indices: np.ndarray = distinct[arrow_to_numpy(encoded.indices)]
    return indices


def _joined(pieces: list[CapturedRows], skipped: tuple[str, ...]) -> CapturedRows:
    """The files' rows as one, in `scored_at` order (stable: rows of one instant keep their file order, as
    `read` keeps them), each column concatenated in turn so only one column is ever held twice."""
    if not pieces:  # an empty table only now: making one imports pandas
        return replace(_scores(PREDICTION_SCHEMA.empty_table()), skipped_files=skipped)
    names = [
        item.name for item in fields(CapturedRows) if isinstance(getattr(pieces[0], item.name), np.ndarray)
    ]
    columns = {name: [getattr(piece, name) for piece in pieces] for name in names}
    pieces.clear()
    whole = {name: np.concatenate(columns.pop(name)) for name in names}
    rows = CapturedRows(**whole, skipped_files=skipped)
    instants = rows.scored_at
    if np.all(instants[1:] >= instants[:-1]):
        return rows
    return rows.take(np.argsort(instants, kind="stable"))


def _captured(logged: LoggedPredictions, inputs: bool = True) -> CapturedRows:
    """The window as NumPy columns (CapturedRows); without `inputs`, an (n, 0) array and no `times`."""
    column = logged.column  # Arrow columns as NumPy: no pandas on the drift check's path
    # Column-major: each input is copied in one contiguous run and read back as one (the check works
    # column by column); row-major doubled the read of a 100k-row window.
    values = np.empty((logged.table.num_rows, len(SCORING_INPUTS) if inputs else 0), order="F")
    for position, name in enumerate(SCORING_INPUTS if inputs else ()):
        values[:, position] = column(name)
    return CapturedRows(
        inputs=values,
        probabilities=column(PROBABILITY).astype(np.float64, copy=False),
        decisions=column(DECISION).astype(bool, copy=False),
        model_names=column(MODEL_NAME).astype(str),
        model_versions=column(MODEL_VERSION).astype(np.int64, copy=False),
        scored_at=column(SCORED_AT).astype("datetime64[us]"),
        skipped_files=logged.skipped,
        transaction_ids=column(TRANSACTION_ID).astype(object, copy=False),
        times=column(TIME).astype(np.float64, copy=False) if inputs else None,
        model_ms=column(MODEL_MS).astype(np.float64, copy=False),
    )
