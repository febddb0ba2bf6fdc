"""Capture of every scored row, for drift checks and for joining with feedback labels later."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraud_detection.domain.compaction import CompactionSummary

if TYPE_CHECKING:  # the CLI imports this port for its constants: numpy would cost every command ~0.1-0.3 s
    import numpy as np


@dataclass(frozen=True)
class PredictionBatch:
    """Rows scored by one request (or one chunk of a batch job), column-wise so capture costs no per-row
    Python objects on the request path. `inputs` holds V1..V28 and Amount in schema order."""

    inputs: np.ndarray  # (n, 29) float64
    times: np.ndarray  # (n,) float64, NaN where the client sent no Time
    transaction_ids: tuple[str | None, ...]
    probabilities: np.ndarray  # (n,) float64
    decisions: np.ndarray  # (n,) bool, True = fraud
    model_name: str
    model_version: int
    # The request's id, or each row's when the rows came from several requests: the shadow scorer scores
    # and captures many requests' rows in one call (per-call overhead, not the model, was its cost).
    request_id: str | tuple[str, ...]
    scored_at: float  # Unix seconds
    # The model call's time in ms when the batch is one row scored alone (the online case): the rollout
    # compares the two models' p99 of it. NaN otherwise (a call's time per row depends on its size).
    model_ms: float = math.nan

    def __len__(self) -> int:
        return len(self.probabilities)


class PredictionLog(ABC):
    """Buffers batches and writes them in micro-batches off the request path; nothing accepted is lost on
    a graceful shutdown (`close` flushes)."""

    @abstractmethod
    def append(self, batch: PredictionBatch) -> None:
        """Queue a batch; returns at once (no I/O on the caller's thread)."""

    @abstractmethod
    def flush(self) -> int:
        """Write everything queued so far; return the number of rows written."""

    @abstractmethod
    def close(self) -> None:
        """Flush and stop the background writer."""


class CaptureCompaction(ABC):
    """Merges the many small capture files of each closed hour into one, so reads of days of traffic (drift,
    rollout evidence, retraining) fetch an object an hour instead of one per writer per minute. Readers see
    the same rows before, during and after."""

    @abstractmethod
    def compact(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
        """Merge the closed hours of the last `lookback_hours`, newest first; start no hour after
        `budget_seconds` (the rest is left for the next run)."""
