"""`CheckDrift`: read a window of captured predictions, compare it with the serving version's reference
profile, store the report (JSON and chart) and, when the model is at risk (not on input drift alone),
publish `DriftDetected`.

A *historical* check (its window ends at or before the moment the check runs: `until` given and not in the
future) looks back at a past stretch of traffic. Its report is stored and listed like any other, but it
never becomes the live verdict (`drift/latest.json`, what `fraud drift show` and /metrics read) and never
publishes `DriftDetected`: the past says nothing about whether the model serving now should be retrained.
A window without `until`, or with `until` still ahead, reaches now and is live."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from fraud_detection.application.drift.compare import Comparison, compare
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.report import DriftReport, DriftWindow, Status
from fraud_detection.domain.errors import (
    FraudDetectionError,
    ReferenceProfileMissingError,
    ServiceUnavailableError,
)
from fraud_detection.domain.events import DriftDetected
from fraud_detection.domain.feedback import QualityReport, RealisedQuality
from fraud_detection.domain.ports.drift import (
    CapturedPredictions,
    CapturedRows,
    DistributionTests,
    DriftChart,
    ReferenceProfiles,
)
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.reports import Reports
from fraud_detection.domain.reports import DRIFT, QUALITY
from fraud_detection.domain.windows import window_hours_problem

logger = logging.getLogger(__name__)
CHART_SUFFIX = ".png"
# The newest rows that tell which versions still serve: a canary at p% leaves its champion out of all of them
# with odds (p/100)^50 (1e-15 at the last default step, 50%; 0.5% at a 90% step), and a version replaced is
# out 50 rows later (its thousands of rows in the window would otherwise go on being judged, and published).
SERVING_TAIL_ROWS = 50


@dataclass(frozen=True)
class DriftWindowSpec:
    """Rows scored in [since, until), narrowed to the latest `last_rows` when given."""

    since: datetime | None = None
    until: datetime | None = None
    last_rows: int | None = None

    def historical(self, now: datetime) -> bool:
        """Does the window end at or before `now` (so it cannot hold the traffic being served)? A naive
        `until` is taken as UTC, as the captured rows' times are."""
        if self.until is None:
            return False
        return (self.until if self.until.tzinfo else self.until.replace(tzinfo=UTC)) <= now

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
        if (problem := window_hours_problem(hours)) is not None:
            raise ValueError(f"hours: {problem}")
        return cls((until or datetime.now(UTC)) - timedelta(hours=hours), until, last_rows)


@dataclass(frozen=True)
class DriftOutcome:
    report: DriftReport
    location: str
    event: DriftDetected | None

    @property
    def historical(self) -> bool:
        """Stored for the record only: the live verdict was left as it was and nothing was published."""
        return self.report.historical


class CheckDrift:
    def __init__(
        self,
        captured: CapturedPredictions,
        profiles: ReferenceProfiles,
        reports: Reports,
        tests: DistributionTests,
        chart: DriftChart,
        publisher: EventPublisher,
        policy: DriftPolicy,
        model_name: str,
        latest_quality: Callable[[], QualityReport | None] | None = None,
    ) -> None:
        """`latest_quality`: the latest realised-quality report (`fraud quality measure`), whose entry for
        the serving version is the realised evidence; by default the one stored in `reports`."""
        self._captured, self._profiles, self._reports = captured, profiles, reports
        self._tests, self._chart, self._publisher = tests, chart, publisher
        self._policy, self._model_name = policy, model_name
        self._latest_quality = latest_quality or (lambda: reports.latest(QUALITY))

    def __call__(
        self, spec: DriftWindowSpec | None = None, *, publish: bool = True, chart: bool = True
    ) -> DriftOutcome:
        """`chart`: also store the report as a chart (PNG); the CLI skips it unless asked, to answer fast.
        `publish` applies to live checks only: a historical one never publishes (see the module's doc)."""
        spec = spec or DriftWindowSpec()
        checked_at = datetime.now(UTC)
        historical = spec.historical(checked_at)
        rows = self._captured.read(spec.since, spec.until, spec.last_rows)
        report = replace(self._assess(rows, checked_at), historical=historical)
        png = self._chart.render(report) if chart and report.columns else None
        attachments = {CHART_SUFFIX: png} if png is not None else None
        saved = self._reports.save(DRIFT, report.id, report.to_dict(), attachments, as_latest=not historical)
        location = saved.uri
        event = None
        if report.at_risk and publish and not historical:
            event = DriftDetected(
                model_name=report.model_name,
                version=report.model_version,
                evidence=report.fired_evidence,
                window_rows=report.window.rows,
                report=location,
                reason=report.reason,
            )
            self._publisher.publish(event)
        past = " [historical: stored, the live verdict unchanged, nothing published]" if historical else ""
        logger.info("drift check: %s (%s)%s", report.status, report.reason, past)
        return DriftOutcome(report, location, event)

    def _assess(self, rows: CapturedRows, checked_at: datetime) -> DriftReport:
        if not len(rows):
            window = DriftWindow(0, None, None, skipped_files=rows.skipped_files)
            reason = "insufficient data: no captured predictions in the window"
            return self._report(self._model_name, 0, "insufficient_data", reason, window, checked_at)
        name, version = serving_version(rows)
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
        everyone = window.rows == len(rows)  # the usual case: no copy of the window for a mask of all rows
        found = compare(
            reference, rows.inputs if everyone else rows.inputs[mine],
            rows.probabilities if everyone else rows.probabilities[mine], self._policy, self._tests,
            self._realised(version),
        )  # fmt: skip
        status: Status = (
            "model_at_risk" if found.at_risk else "input_drift" if found.input_drift else "no_drift"
        )
        return self._report(name, version, status, _reason(found), window, checked_at, found)

    def _realised(self, version: int) -> RealisedQuality | None:
        """The realised evidence is one piece of seven: a report that cannot be read (a role without access
        to it, a corrupt file) leaves the check to the others, saying so, rather than failing every check.
        An outage still raises: the whole check is retried."""
        try:
            report = self._latest_quality()
        except ServiceUnavailableError:
            raise
        except FraudDetectionError as error:
            logger.warning("drift check without realised quality: its report is unreadable: %s", error)
            return None
        return next((m for m in report.models if m.model_version == version), None) if report else None

    def _report(
        self,
        name: str,
        version: int,
        status: Status,
        reason: str,
        window: DriftWindow,
        checked_at: datetime,
        found: Comparison | None = None,
    ) -> DriftReport:
        return DriftReport(
            model_name=name,
            model_version=version,
            status=status,
            reason=reason,
            window=window,
            rule=self._policy.describe(),
            test_alpha=self._policy.risk_alpha if found else float("nan"),
            checked_at=checked_at.isoformat(),
            columns=found.columns if found else (),
            alert_rate=found.alert_rate if found else None,
            outliers=found.outliers if found else None,
            evidence=found.evidence if found else (),
            estimate=found.estimate if found else None,
            id=f"{checked_at:%Y%m%dT%H%M%S%fZ}-v{version}",
        )


def serving_version(rows: CapturedRows) -> tuple[str, int]:
    """The version to check: the oldest registration among those answering the newest rows. During a
    canary the champion and its challenger both answer; the challenger is the newer registration (a
    retrain's) and is watched by the rollout's own evidence, so the champion, which most traffic meets and
    a retrain replaces, is checked. Before, the newest row's version was: at a 10% canary every tenth check
    was about the challenger's share (often `insufficient_data`), and the live verdict flipped. Read from
    the rows, not the registry, so that the drift Lambda keeps needing no MLflow. A rollout of an older
    registration than its champion would have its challenger checked."""
    name = str(rows.model_names[-1])
    tail = slice(max(0, len(rows) - SERVING_TAIL_ROWS), None)
    versions = rows.model_versions[tail][rows.model_names[tail] == name]
    return name, int(versions.min())


def _reason(found: Comparison) -> str:
    """One line: the verdict with the evidence that fired (or the closest call), then any input drift."""
    fired = [item for item in found.evidence if item.fired]
    inputs = sorted((c for c in found.columns[:-1] if c.drifted), key=lambda c: c.psi, reverse=True)
    drift = (
        "input drift (diagnostic) in "
        + ", ".join(f"{c.name} (PSI {c.psi:.3f})" for c in inputs[:5])
        + (f" and {len(inputs) - 5} more" if len(inputs) > 5 else "")
        if inputs
        else "no input drift"
    )
    if fired:
        return "model at risk: " + "; ".join(item.detail for item in fired) + f"; {drift}"
    closest = max(
        (item for item in found.evidence if item.effect is not None and item.floor > 0),
        key=lambda item: (item.effect or 0.0) / item.floor,
        default=None,
    )
    near = f" (closest: {closest.detail}, floor {closest.floor:g})" if closest else ""
    return f"model not at risk{near}; {drift}"


def _iso(moment: np.datetime64) -> str:
    return f"{np.datetime_as_string(moment.astype('datetime64[us]'), unit='us')}+00:00"
