"""What a drift check needs from outside: captured rows, stored profiles, p-values and a chart (reports go
through `ports.reports.Reports`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime

import numpy as np

from fraud_detection.domain.drift.profile import ReferenceProfile
from fraud_detection.domain.drift.report import DriftReport
from fraud_detection.domain.errors import TooManyCapturedRowsError


@dataclass(frozen=True)
class CapturedRows:
    """Predictions captured by the scoring service, column-wise, in scoring order."""

    inputs: np.ndarray  # (n, 29) float64, SCORING_INPUTS order
    probabilities: np.ndarray  # (n,)
    decisions: np.ndarray  # (n,) bool
    model_names: np.ndarray  # (n,) str
    model_versions: np.ndarray  # (n,) int
    scored_at: np.ndarray  # (n,) datetime64[us] UTC
    skipped_files: tuple[str, ...] = ()
    transaction_ids: np.ndarray | None = None  # (n,) object: str or None (the client sent no id)
    times: np.ndarray | None = None  # (n,) float64 `Time` as the client sent it, NaN when absent
    model_ms: np.ndarray | None = None  # (n,) float64 model time of a row scored alone, else NaN
    # (n,) int64 `transaction_keys` of the ids, read instead of `transaction_ids` by `read_scores`
    transaction_keys: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.probabilities)

    def id_keys(self) -> np.ndarray:
        """`transaction_keys` of the rows' ids: as read, or made from `transaction_ids` (NO_TRANSACTION_KEY
        for a row without one, and for every row when no ids were captured)."""
        if self.transaction_keys is not None:
            return self.transaction_keys
        if self.transaction_ids is None:
            return np.full(len(self), NO_TRANSACTION_KEY, np.int64)
        return transaction_keys(self.transaction_ids)

    def take(self, positions: np.ndarray) -> CapturedRows:
        """The rows at `positions` (an index or a boolean mask), in that order."""
        arrays = {
            item.name: value[positions]
            for item in fields(self)
            if isinstance(value := getattr(self, item.name), np.ndarray)
        }
        return replace(self, **arrays)


def transaction_keys(ids: Iterable[str | None]) -> np.ndarray:
    """Transaction ids as 64-bit keys, to pair the rows two models scored and join their labels: an int64
    takes 8 bytes where a Python string takes ~70 (a week of a million scorings a day is 7M ids), and
    sorting or matching integers is ten times faster (100,000 ids: ~10 ms against ~150 ms). Python's string
    hash: two of a window's ids share a key with odds of about n^2 / 2^64; keys are per process, so only
    compare keys made in the same one."""
    return np.fromiter(map(hash, ids), dtype=np.int64)


NO_TRANSACTION_KEY = hash(None)  # the key of a row whose client sent no transaction id


class CapturedPredictions(ABC):
    @abstractmethod
    def read(self, since: datetime | None, until: datetime | None, last_rows: int | None) -> CapturedRows:
        """Rows scored in [since, until), then only the latest `last_rows` of them when given. Unreadable
        files are skipped and named in `skipped_files`, never fatal."""

    def read_ids(self, since: datetime | None, ids: Collection[str]) -> CapturedRows:
        """Rows scored since `since` whose transaction id is in `ids`, in scoring order. What a retrain
        reads: an adapter over many rows should filter as it reads, so memory follows the labelled rows, not
        the weeks of traffic around them; this default reads the whole window first."""
        rows = self.read(since, None, None)
        if rows.transaction_ids is None:
            return rows.take(np.zeros(len(rows), bool))
        wanted = set(ids)
        return rows.take(np.fromiter((tid in wanted for tid in rows.transaction_ids), bool, len(rows)))

    def read_scores(
        self, since: datetime | None, until: datetime | None, max_rows: int | None = None
    ) -> CapturedRows:
        """Rows scored in [since, until) without their inputs (`inputs` has no columns, `times` is None)
        and with their ids as `transaction_keys` (`transaction_ids` is None): what rollout evidence reads,
        over days of traffic and in the API's own process. An adapter should not hold the input columns
        or the id strings at all; this default reads them and drops them. With `max_rows`, raises
        `TooManyCapturedRowsError` when the window holds more: an adapter should stop reading as soon as it
        knows, so the memory held stays bounded by the limit."""
        rows = self.read(since, until, None)
        if max_rows is not None and len(rows) > max_rows:
            raise TooManyCapturedRowsError(max_rows)
        return replace(
            rows, inputs=rows.inputs[:, :0], times=None, transaction_ids=None, transaction_keys=rows.id_keys()
        )


class ReferenceProfiles(ABC):
    @abstractmethod
    def save(self, profile: ReferenceProfile) -> None: ...

    @abstractmethod
    def load(self, model_name: str, version: int) -> ReferenceProfile | None:
        """None when that version has no profile (registered before profiles existed)."""


class DistributionTests(ABC):
    """p-values of the tests the decision rule uses (closed forms in production, held to scipy.stats)."""

    @abstractmethod
    def ks_p_value(self, statistic: float, rows: int) -> float:
        """P(D >= statistic) for a one-sample KS test on `rows` rows."""

    @abstractmethod
    def binomial_p_value(self, successes: int, trials: int, probability: float) -> float:
        """Two-sided exact binomial test."""

    @abstractmethod
    def chi2_p_value(self, statistic: float, degrees_of_freedom: int) -> float:
        """P(X >= statistic) for X ~ chi-square(degrees_of_freedom)."""


class DriftChart(ABC):
    @abstractmethod
    def render(self, report: DriftReport) -> bytes:
        """A PNG a person can read: per-column PSI and KS against the decision thresholds."""
