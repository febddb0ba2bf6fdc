"""`CheckDrift`: read a window of captured predictions, compare it with the serving version's reference
profile, store the report (JSON and chart) and, on drift, publish `DriftDetected`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from fraud_detection.application.drift.compare import Comparison, compare, tests_per_window
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.report import DriftReport, DriftWindow, Status
from fraud_detection.domain.errors import ReferenceProfileMissingError
from fraud_detection.domain.events import DriftDetected
from fraud_detection.domain.ports.drift import (
    CapturedPredictions,
    CapturedRows,
    DistributionTests,
    DriftChart,
    DriftReports,
    ReferenceProfiles,
)
from fraud_detection.domain.ports.events import EventPublisher

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftWindowSpec:
    """Rows scored in [since, until), narrowed to the latest `last_rows` when given."""

    since: datetime | None = None
    until: datetime | None = None
    last_rows: int | None = None

    def __post_init__(self) -> None:
        if self.last_rows is not None and self.last_rows < 1:
            raise ValueError(f"last_rows must be at least 1, got {self.last_rows}")
        if self.since and self.until and self.since >= self.until:
            raise ValueError(f"the window is empty: since {self.since} is not before until {self.until}")

    @classmethod
    def last_hours(
        cls, hours: float, until: datetime | None = None, last_rows: int | None = None
    ) -> DriftWindowSpec:
        """The `hours` before `until` (default now), as every entry point counts its default window."""
        if not hours > 0:
            raise ValueError(f"hours must be greater than 0, got {hours}")
        return cls((until or datetime.now(UTC)) - timedelta(hours=hours), until, last_rows)


@dataclass(frozen=True)
class DriftOutcome:
    report: DriftReport
    location: str
    event: DriftDetected | None


class CheckDrift:
    def __init__(
        self,
        captured: CapturedPredictions,
        profiles: ReferenceProfiles,
        reports: DriftReports,
        tests: DistributionTests,
        chart: DriftChart,
        publisher: EventPublisher,
        policy: DriftPolicy,
        model_name: str,
    ) -> None:
        self._captured, self._profiles, self._reports = captured, profiles, reports
        self._tests, self._chart, self._publisher = tests, chart, publisher
        self._policy, self._model_name = policy, model_name

    def __call__(self, spec: DriftWindowSpec | None = None, *, publish: bool = True) -> DriftOutcome:
        spec = spec or DriftWindowSpec()
        rows = self._captured.read(spec.since, spec.until, spec.last_rows)
        report = self._assess(rows)
        chart = self._chart.render(report) if report.columns else None
        location = self._reports.save(report, chart)
        event = None
        if report.drifted and publish:
            event = DriftDetected(
                model_name=report.model_name,
                version=report.model_version,
                drifted_columns=report.drifted_tests,
                window_rows=report.window.rows,
                report=location,
                reason=report.reason,
            )
            self._publisher.publish(event)
        logger.info("drift check: %s (%s)", report.status, report.reason)
        return DriftOutcome(report, location, event)

    def _assess(self, rows: CapturedRows) -> DriftReport:
        checked_at = datetime.now(UTC)
        if not len(rows):
            window = DriftWindow(0, None, None, skipped_files=rows.skipped_files)
            reason = "insufficient data: no captured predictions in the window"
            return self._report(self._model_name, 0, "insufficient_data", reason, window, checked_at)
        name, version = str(rows.model_names[-1]), int(rows.model_versions[-1])
        mine = (rows.model_versions == version) & (rows.model_names == name)
        scored = rows.scored_at[mine]
        window = DriftWindow(
            rows=int(np.count_nonzero(mine)),
            start=_iso(scored.min()),
            end=_iso(scored.max()),
            other_version_rows=len(rows) - int(np.count_nonzero(mine)),
            skipped_files=rows.skipped_files,
        )
        if window.rows < self._policy.min_rows:
            needed = self._policy.min_rows
            reason = f"insufficient data: {window.rows:,} rows of v{version}, at least {needed:,} needed"
            return self._report(name, version, "insufficient_data", reason, window, checked_at)
        reference = self._profiles.load(name, version)
        if reference is None:
            raise ReferenceProfileMissingError(
                f"model '{name}' v{version} has no reference profile (registered before drift profiles were "
                "stored); train a new version to monitor drift"
            )
        found = compare(reference, rows.inputs[mine], rows.probabilities[mine], self._policy, self._tests)
        status: Status = "drift" if found.drifted else "no_drift"
        tests = tests_per_window(reference)
        return self._report(name, version, status, _reason(found), window, checked_at, found, tests)

    def _report(
        self,
        name: str,
        version: int,
        status: Status,
        reason: str,
        window: DriftWindow,
        checked_at: datetime,
        found: Comparison | None = None,
        tests: int = 0,
    ) -> DriftReport:
        return DriftReport(
            model_name=name,
            model_version=version,
            status=status,
            reason=reason,
            window=window,
            rule=self._policy.describe(),
            test_alpha=self._policy.test_alpha(tests) if tests else float("nan"),
            checked_at=checked_at.isoformat(),
            columns=found.columns if found else (),
            alert_rate=found.alert_rate if found else None,
            outliers=found.outliers if found else None,
            id=f"{checked_at:%Y%m%dT%H%M%S%fZ}-v{version}",
        )


def _reason(found: Comparison) -> str:
    drifted = sorted((c for c in found.columns if c.drifted), key=lambda c: c.psi, reverse=True)
    rate = found.alert_rate
    alert = f"alert rate {rate.observed_rate:.3%} vs {rate.reference_rate:.3%} in the reference"
    if found.drifted:
        parts = [f"{c.name} (PSI {c.psi:.3f}, KS {c.ks_statistic:.3f})" for c in drifted]
        if rate.drifted:
            parts.append(alert)
        if found.outliers and found.outliers.drifted:
            where = ", ".join(found.outliers.unusual_columns) or "other columns"
            parts.append(f"outlier pattern: outlying rows now stand out on {where}")
        return "drift in " + ", ".join(parts)
    largest = max(found.columns, key=lambda c: c.psi)
    return f"no drift: largest PSI {largest.psi:.3f} ({largest.name}); {alert}"


def _iso(moment: np.datetime64) -> str:
    return f"{np.datetime_as_string(moment.astype('datetime64[us]'), unit='us')}+00:00"
