"""Start-up recovery: what killed processes left in the journal becomes spill files, resent like any other."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from fraud_detection.infrastructure.arrow.prediction_log.arrow_table import encode_parquet
from fraud_detection.infrastructure.arrow.prediction_log.journal import Journal
from fraud_detection.infrastructure.arrow.prediction_log.layout import file_key, hour_buckets
from fraud_detection.infrastructure.arrow.prediction_log.spill import SpillDir, SpillRefusedError
from fraud_detection.infrastructure.arrow.prediction_log.telemetry import CaptureCounters

logger = logging.getLogger(__name__)


# Told of the rows a journal held once they are spilled (the feedback index: those ids were scored).
Recovered = Callable[[pa.Table], None]


def recover_journals(
    journal: Journal,
    spill: SpillDir,
    prefix: str,
    counters: CaptureCounters,
    recovered: Recovered | None = None,
) -> None:
    """Spill the rows of every orphaned journal, one file per UTC hour, hand them to `recovered`, then
    delete the journal (counted in `rows_recovered`). A file's name depends only on the journal, so
    recovering twice overwrites."""
    for owner, table, delete in journal.orphans():
        hours = hour_buckets(table["scored_at"].cast(pa.int64()).to_numpy() / 1_000_000)
        order = np.argsort(hours, kind="stable")
        table, hours = table.take(order), hours[order]
        edges = [0, *(np.flatnonzero(hours[1:] != hours[:-1]) + 1).tolist(), len(hours)]
        for number, (begin, end) in enumerate(itertools.pairwise(edges) if len(hours) else []):
            part = table.slice(begin, end - begin)
            first = float(hours[begin]) * 3600
            key = file_key(prefix, first, 0, number).rsplit("/", 1)[0]
            name = f"{int(first)}-recovered-{owner}-{number:06d}.parquet"  # same name if recovered twice
            if not spill.put(f"{key}/{name}", encode_parquet(part), force=True):
                raise SpillRefusedError(f"cannot spill the journal of {owner}")
        if recovered is not None and table.num_rows:
            try:
                recovered(table)
            except Exception:  # the rows are safe in the spill; only their labels' matching is lost
                logger.exception("prediction log: %d recovered rows of %s not indexed", table.num_rows, owner)
        delete()
        if not table.num_rows:
            continue
        counters.rows_recovered += table.num_rows
        logger.warning(
            "prediction log: recovered %d rows a stopped process (%s) had not written; resending them",
            table.num_rows,
            owner,
        )
