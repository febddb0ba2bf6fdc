"""The drift check use case and `compare` at the edges the other drift tests leave open: what an outcome
points at, which rows and which quality report a check reads, how a historical check is logged and read
back, the outlier evidence's figures, the reason's count of drifted inputs and the estimated fall's level.

Built on the small hand-made reference of test_drift_verdicts (ramp input columns, a 1,000-score
baseline whose estimate is the reference's) and its stubbed p-values.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from fraud_detection.application.drift.check import CheckDrift, DriftWindowSpec
from fraud_detection.domain.drift.policy import RISK_TESTS, DriftPolicy
from fraud_detection.domain.drift.profile import OutlierSignature
from fraud_detection.domain.drift.report import DriftReport, Evidence
from fraud_detection.domain.ports.drift import CapturedRows
from fraud_detection.domain.reports import QUALITY
from tests.drift_fakes import (
    FakeCapturedPredictions,
    FakeDriftChart,
    FakeReferenceProfiles,
    FakeReports,
    captured,
)
from tests.fakes import FakePublisher
from tests.unit.test_drift_verdicts import (
    BASELINE,
    REFERENCE_ESTIMATE,
    THRESHOLD,
    TINY,
    StubTests,
    evidence,
    judge,
    quality_of,
    quiet_inputs,
    realised,
    scores,
    small_reference,
)

WIDTH = 29  # the captured rows' input columns
LOGGER = "fraud_detection.application.drift.check"
HISTORICAL_NOTE = " [historical: stored, the live verdict unchanged, nothing published]"


class Checking:
    """CheckDrift over the small reference, with the quality report read from `reports` as by default."""

    def __init__(self, tests: StubTests | None = None, columns: int = WIDTH, **changes: object) -> None:
        self.captured = FakeCapturedPredictions()
        self.profiles = FakeReferenceProfiles()
        self.reports = FakeReports()
        self.publisher = FakePublisher()
        self.check = CheckDrift(
            self.captured, self.profiles, self.reports, tests or StubTests(), FakeDriftChart(),
            self.publisher, DriftPolicy(min_rows=100), model_name="fraud-lgbm",
        )  # fmt: skip
        self.profiles.save(small_reference(columns, **changes))

    def serve(self, inputs: np.ndarray, probabilities: np.ndarray, version: int = 1) -> CapturedRows:
        rows = captured(inputs, probabilities, version=version, threshold=THRESHOLD)
        self.captured.rows = rows
        return rows


def joined(*parts: CapturedRows) -> CapturedRows:
    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(part, name) for part in parts])

    return CapturedRows(
        column("inputs"), column("probabilities"), column("decisions"), column("model_names"),
        column("model_versions"), column("scored_at"),
    )  # fmt: skip


# what a check reads and returns


def test_the_outcome_points_at_the_stored_report() -> None:
    checking = Checking()
    checking.serve(quiet_inputs(columns=WIDTH), BASELINE)
    outcome = checking.check()
    assert outcome.location == f"memory://drift/{outcome.report.id}.json"


def test_by_default_the_realised_evidence_comes_from_the_stored_quality_report() -> None:
    """No `latest_quality` given: the check reads the latest quality report kept in its reports."""
    checking = Checking(StubTests(binomial=TINY))
    checking.reports.save(QUALITY, "q1", quality_of(realised(30, 20, 20)).to_dict())
    checking.serve(quiet_inputs(columns=WIDTH), BASELINE)
    report = checking.check().report
    assert [item.name for item in report.evidence if item.name.startswith("realised")] == [
        "realised_precision",
        "realised_recall",
    ]
    assert report.fired_evidence == ("realised_precision",)
    assert report.status == "model_at_risk"


def test_without_a_stored_quality_report_there_is_no_realised_evidence() -> None:
    checking = Checking(StubTests(binomial=TINY))
    checking.serve(quiet_inputs(columns=WIDTH), BASELINE)
    report = checking.check().report
    assert not [item for item in report.evidence if item.name.startswith("realised")]
    assert report.status == "no_drift"


def test_another_versions_rows_count_in_no_figure_of_the_serving_version() -> None:
    """500 rows of v0, every one an alert, before the 1,000 baseline rows of v1: v1's alert rate, score
    column and estimate are its own rows' only."""
    checking = Checking(StubTests(ks=TINY, binomial=TINY))
    old = captured(quiet_inputs(500, WIDTH), np.full(500, 0.99), version=0, threshold=THRESHOLD)
    new = captured(quiet_inputs(columns=WIDTH), BASELINE, version=1, threshold=THRESHOLD)
    checking.captured.rows = joined(old, new)
    report = checking.check().report
    assert (report.window.rows, report.window.other_version_rows) == (1_000, 500)
    assert report.alert_rate is not None
    assert (report.alert_rate.observed_alerts, report.alert_rate.window_rows) == (10, 1_000)
    assert report.estimate is not None
    assert (report.estimate.rows, report.estimate.alerts) == (1_000, 10)
    assert report.status == "no_drift", report.reason


# historical checks: logged as such, and older reports read as live


def test_a_historical_check_says_so_in_its_log_line(caplog: pytest.LogCaptureFixture) -> None:
    checking = Checking()
    checking.serve(quiet_inputs(columns=WIDTH), BASELINE)  # scored from 2026-11-01 00:00 UTC
    past = DriftWindowSpec(since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 2, tzinfo=UTC))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        report = checking.check(past).report
    assert report.historical
    assert caplog.messages == [f"drift check: no_drift ({report.reason}){HISTORICAL_NOTE}"]


def test_a_live_check_has_no_historical_note_in_its_log_line(caplog: pytest.LogCaptureFixture) -> None:
    checking = Checking()
    checking.serve(quiet_inputs(columns=WIDTH), BASELINE)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        report = checking.check().report
    assert not report.historical
    assert caplog.messages == [f"drift check: no_drift ({report.reason})"]


def test_an_until_in_another_time_zone_is_compared_as_the_moment_it_names() -> None:
    """13:00 at UTC+2 is 11:00 UTC: before a check at 12:00 UTC, though 13 > 12 on the clock."""
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    plus_two, minus_two = timezone(timedelta(hours=2)), timezone(timedelta(hours=-2))
    assert DriftWindowSpec(until=datetime(2026, 12, 3, 13, tzinfo=plus_two)).historical(now)
    assert DriftWindowSpec(until=datetime(2026, 12, 3, 14, tzinfo=plus_two)).historical(now)  # exactly now
    assert not DriftWindowSpec(until=datetime(2026, 12, 3, 11, tzinfo=minus_two)).historical(now)  # 13:00


def test_a_report_stored_before_historical_checks_reads_as_live() -> None:
    checking = Checking()
    checking.serve(quiet_inputs(columns=WIDTH), BASELINE)
    document = checking.check().report.to_dict()
    del document["historical"]
    assert DriftReport.from_dict(document).historical is False
    assert DriftReport.from_dict(document | {"historical": True}).historical is True


# the reason: at most five drifted inputs named, the rest counted


@pytest.mark.parametrize(("drifted", "tail"), [(5, ""), (6, " and 1 more")])
def test_the_reason_counts_the_drifted_inputs_beyond_the_fifth(drifted: int, tail: str) -> None:
    """Columns c0..c{drifted-1} pushed far beyond the reference, larger pushes first in the reason."""
    checking = Checking(StubTests(ks=TINY), columns=8)
    inputs = quiet_inputs(columns=WIDTH)
    for column in range(drifted):
        inputs[:, column] += 200.0 * (column + 1)
    checking.serve(inputs, BASELINE)
    report = checking.check().report
    assert report.drifted_inputs == tuple(f"c{i}" for i in range(drifted))
    by_psi = sorted(report.columns[:drifted], key=lambda c: c.psi, reverse=True)[:5]
    named = ", ".join(f"{c.name} (PSI {c.psi:.3f})" for c in by_psi)
    assert report.reason.endswith(f"; input drift (diagnostic) in {named}{tail}")


# compare: the outlier evidence's figures


def test_outlier_evidence_without_outlying_rows_names_no_column() -> None:
    """No outlying row in the window: no shift, nothing unusual, and the detail says so."""
    found = judge(reference=small_reference(outliers=OutlierSignature((10.0, 10.0, 10.0), 10, 2, 3)))
    assert evidence(found, "outlier_pattern") == Evidence(
        "outlier_pattern", 0.0, 0.0, 0.0, DriftPolicy().min_outlier_shift, 1.0, False,
        "outlying rows stand out on no column in particular (shift 0.000)",
    )  # fmt: skip


def test_outlier_evidence_observes_the_shift_against_a_reference_of_none() -> None:
    """Four rows extreme on all three columns against reference cells (20, 5, 5): the shift is the total
    variation distance from the reference's spread, which is itself the reference point 0."""
    reference = small_reference(outliers=OutlierSignature((20.0, 5.0, 5.0), 10, 2, 3))
    inputs = quiet_inputs()
    inputs[:4] = 5_000.0
    found = judge(inputs=inputs, reference=reference, tests=StubTests(chi2=TINY))
    assert found.outliers is not None
    shift = found.outliers.shift
    assert shift == pytest.approx(0.5 * float(np.abs(1 / 3 - np.array([20.5, 5.5, 5.5]) / 31.5).sum()))
    item = evidence(found, "outlier_pattern")
    assert (item.observed, item.reference, item.effect) == (shift, 0.0, shift)
    assert item.fired
    assert item.detail == f"outlying rows stand out on c1, c2 (shift {shift:.3f})"


# compare: the estimated fall is significant strictly below the risk level


def family_alpha_for(risk_alpha: float) -> float:
    """A family alpha whose risk level (family / RISK_TESTS) is exactly `risk_alpha`."""
    family = risk_alpha * RISK_TESTS
    for _ in range(64):
        level = DriftPolicy(family_alpha=family).risk_alpha
        if level == risk_alpha:
            return family
        family = float(np.nextafter(family, np.inf if level < risk_alpha else -np.inf))
    raise AssertionError(f"no family alpha gives a risk level of exactly {risk_alpha!r}")


def test_an_estimated_fall_with_a_p_value_equal_to_the_risk_level_does_not_fire() -> None:
    reference = small_reference(estimate=replace(REFERENCE_ESTIMATE, precision_error=0.035))
    window = scores(10, 0.6, 9.0)  # estimated precision 0.6 against 0.8: far beyond the tolerance
    probe = evidence(judge(window, reference=reference), "estimated_precision")
    assert probe.p_value is not None
    assert probe.fired  # at the default level it is evidence
    policy = DriftPolicy(family_alpha=family_alpha_for(probe.p_value))
    at_level = evidence(judge(window, policy, reference=reference), "estimated_precision")
    assert at_level.p_value == policy.risk_alpha
    assert not at_level.fired
