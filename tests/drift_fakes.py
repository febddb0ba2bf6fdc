"""In-memory fakes of the drift ports, for unit tests of the drift use cases."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from fraud_detection.domain.drift.profile import ReferenceProfile
from fraud_detection.domain.drift.report import DriftReport
from fraud_detection.domain.ports.drift import (
    CapturedPredictions,
    CapturedRows,
    DistributionTests,
    DriftChart,
    ReferenceProfiles,
)
from fraud_detection.domain.ports.reports import Attachments, Document, Reports, SavedReport
from fraud_detection.domain.reports import ReportKind

T = TypeVar("T")


class FakeReferenceProfiles(ReferenceProfiles):
    def __init__(self) -> None:
        self.profiles: dict[tuple[str, int], ReferenceProfile] = {}

    def save(self, profile: ReferenceProfile) -> None:
        self.profiles[profile.model_name, profile.model_version] = profile

    def load(self, model_name: str, version: int) -> ReferenceProfile | None:
        return self.profiles.get((model_name, version))


class FakeReports(Reports):
    """Every saved report in memory, in order: (kind, name, document, attachments); `kept_out_of_latest`
    names those saved with `as_latest=False`, which `latest` passes over as the adapter does."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, str, dict[str, Any], dict[str, bytes]]] = []
        self.kept_out_of_latest: set[tuple[str, str]] = set()

    def save(
        self,
        kind: ReportKind[Any],
        name: str,
        document: Document,
        attachments: Attachments = None,
        *,
        as_latest: bool = True,
    ) -> SavedReport:
        self.saved.append((kind.name, name, dict(document), dict(attachments or {})))
        if not as_latest:
            self.kept_out_of_latest.add((kind.name, name))
        uris = {suffix: f"memory://{kind.name}/{name}{suffix}" for suffix in attachments or {}}
        latest = f"memory://{kind.name}/latest.json" if as_latest else None
        return SavedReport(f"memory://{kind.name}/{name}.json", latest, uris)

    def latest(self, kind: ReportKind[T]) -> T | None:
        documents = [
            document
            for saved_kind, name, document, _ in self.saved
            if saved_kind == kind.name and (saved_kind, name) not in self.kept_out_of_latest
        ]
        return kind.parse(documents[-1]) if documents else None

    def recent(self, kind: ReportKind[T], limit: int) -> list[tuple[str, T]]:
        mine = sorted((name, doc) for saved_kind, name, doc, _ in self.saved if saved_kind == kind.name)
        return [(name, kind.parse(doc)) for name, doc in mine[::-1][:limit]]


class FakeCapturedPredictions(CapturedPredictions):
    """Serves the rows a test put in `rows` that were scored in [since, until), the latest `last_rows` of
    them when given: the port's contract, so a use case that passes the wrong window gets the wrong rows."""

    def __init__(self) -> None:
        self.rows = captured(np.empty((0, 29)), np.empty(0))
        self.requests: list[tuple[datetime | None, datetime | None, int | None]] = []

    def read(self, since: datetime | None, until: datetime | None, last_rows: int | None) -> CapturedRows:
        self.requests.append((since, until, last_rows))
        r = self.rows
        keep = np.ones(len(r.probabilities), dtype=bool)
        if since is not None:
            keep &= r.scored_at >= _naive_utc(since)
        if until is not None:
            keep &= r.scored_at < _naive_utc(until)
        positions = np.flatnonzero(keep)
        if last_rows is not None:
            positions = positions[-last_rows:]
        columns = {
            f.name: getattr(r, f.name)[positions]
            for f in fields(r)
            if isinstance(getattr(r, f.name), np.ndarray)
        }
        return replace(r, **columns)


def _naive_utc(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


class AsymptoticTests(DistributionTests):
    """Kolmogorov's limiting distribution and a normal approximation: close to scipy's exact figures on
    the window sizes the unit tests use, with no scipy in the unit layer."""

    def ks_p_value(self, statistic: float, rows: int) -> float:
        x = math.sqrt(rows) * statistic
        if x < 0.2:
            return 1.0
        return min(1.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, 101)))

    def binomial_p_value(self, successes: int, trials: int, probability: float) -> float:
        mean = trials * probability
        sd = math.sqrt(trials * probability * (1 - probability)) or 1.0
        return math.erfc(abs(successes - mean) / sd / math.sqrt(2))

    def chi2_p_value(self, statistic: float, degrees_of_freedom: int) -> float:
        """Wilson-Hilferty: (X/k)^(1/3) is nearly normal."""
        k = degrees_of_freedom
        z = ((statistic / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
        return 0.5 * math.erfc(z / math.sqrt(2))


class FakeDriftChart(DriftChart):
    def render(self, report: DriftReport) -> bytes:
        return f"chart of {report.id}".encode()


def captured(
    inputs: np.ndarray,
    probabilities: np.ndarray,
    version: int = 1,
    name: str = "fraud-lgbm",
    threshold: float = 0.5,
    skipped: tuple[str, ...] = (),
) -> CapturedRows:
    n = len(probabilities)
    start = np.datetime64(datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None), "us")
    return CapturedRows(
        inputs=np.asarray(inputs, dtype=np.float64).reshape(n, 29),
        probabilities=np.asarray(probabilities, dtype=np.float64),
        decisions=np.asarray(probabilities) >= threshold,
        model_names=np.full(n, name, dtype=object).astype(str),
        model_versions=np.full(n, version, dtype=np.int64),
        scored_at=start + np.arange(n) * np.timedelta64(timedelta(seconds=1)),
        skipped_files=skipped,
    )
