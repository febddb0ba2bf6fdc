"""Drift statistics, the decision rule and the CheckDrift use case, on in-memory fakes."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from fraud_detection.application.drift.check import CheckDrift, DriftWindowSpec
from fraud_detection.application.drift.compare import Comparison, compare
from fraud_detection.application.drift.reference import StoreReferenceProfile
from fraud_detection.domain.drift.estimate import estimate_performance
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.profile import SCORE, DistributionProfile, ReferenceProfile
from fraud_detection.domain.drift.report import DriftReport
from fraud_detection.domain.drift.statistics import ks_statistic, population_stability_index
from fraud_detection.domain.errors import (
    DataSourceError,
    ReferenceProfileMissingError,
    ServiceUnavailableError,
)
from fraud_detection.domain.events import DriftDetected
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.feedback import QualityReport
from fraud_detection.domain.ports.drift import DistributionTests
from fraud_detection.domain.reports import DRIFT
from tests.drift_fakes import (
    AsymptoticTests,
    FakeCapturedPredictions,
    FakeDriftChart,
    FakeReferenceProfiles,
    FakeReports,
    captured,
)
from tests.fakes import FakePublisher

FEATURES = len(SCORING_INPUTS)


def sample(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs (Amount log-normal, rounded to cents: a point-mass-rich column) and scores."""
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((rows, FEATURES))
    inputs[:, -1] = np.round(np.exp(rng.normal(3, 1.2, rows)), 0)
    scores = rng.beta(0.3, 30, rows)
    return inputs, scores


# profile and statistics


def test_the_profile_cdf_follows_the_empirical_cdf_with_point_masses() -> None:
    rng = np.random.default_rng(1)
    for values in (rng.standard_normal(50_000), np.round(np.exp(rng.normal(2, 1, 50_000)))):
        profile = DistributionProfile.of("x", values)
        probes = np.quantile(values, np.linspace(0.01, 0.99, 37))
        at_or_below = (values[:, None] <= probes).mean(axis=0)
        below = (values[:, None] < probes).mean(axis=0)
        np.testing.assert_allclose(profile.cdf(probes), at_or_below, atol=0.002)
        np.testing.assert_allclose(profile.cdf(probes, strict=True), below, atol=0.002)
    assert profile.cdf(np.array([-1.0, 1e9])).tolist() == [0.0, 1.0]


def test_ks_statistic_matches_scipy_two_sample_ks() -> None:
    rng = np.random.default_rng(2)
    reference = rng.standard_normal(200_000)
    profile = DistributionProfile.of("x", reference)
    for shift in (0.0, 0.1, 0.5):
        window = rng.standard_normal(5_000) + shift
        expected = stats.ks_2samp(window, reference).statistic
        assert ks_statistic(profile, window) == pytest.approx(expected, abs=0.002)
    amounts = np.round(np.exp(rng.normal(3, 1, 200_000)))
    window = np.round(np.exp(rng.normal(3, 1, 5_000)) * 1.5)
    expected = stats.ks_2samp(window, amounts).statistic
    assert ks_statistic(DistributionProfile.of("a", amounts), window) == pytest.approx(expected, abs=0.003)


def test_psi_is_near_zero_without_change_and_large_for_half_a_standard_deviation() -> None:
    rng = np.random.default_rng(3)
    profile = DistributionProfile.of("x", rng.standard_normal(100_000))
    assert population_stability_index(profile, rng.standard_normal(5_000)) < 0.01
    assert 0.2 < population_stability_index(profile, rng.standard_normal(5_000) + 0.5) < 0.35
    assert math.isnan(population_stability_index(profile, np.array([np.nan])))


def test_a_profile_survives_its_json_form_and_refuses_a_broken_one() -> None:
    inputs, scores = sample(2_000, 4)
    profiles = FakeReferenceProfiles()
    profile = StoreReferenceProfile(profiles)("fraud-lgbm", 3, inputs, scores, threshold=0.05)
    assert profiles.load("fraud-lgbm", 3) is profile
    assert profile.alerts == int((scores >= 0.05).sum())
    assert profile.scored_rows == 2_000
    # without held-out rows the reference scores stand in for the estimate, and nothing is realised
    assert profile.estimate == estimate_performance(scores, 0.05)
    assert (profile.realised_precision, profile.realised_recall, profile.positive_weight) == (None, None, 1.0)
    again = ReferenceProfile.from_dict(profile.to_dict())
    assert [f.name for f in again.features] == list(SCORING_INPUTS)
    np.testing.assert_array_equal(again.features[5].quantiles, profile.features[5].quantiles)
    assert again.estimate == profile.estimate
    broken = profile.features[0].to_dict() | {"quantiles": [3.0, 2.0, 1.0]}
    with pytest.raises(ValueError, match="expected 1001 sorted quantiles"):
        DistributionProfile.from_dict(broken)


def test_the_policy_states_bonferroni_and_refuses_nonsense() -> None:
    policy = DriftPolicy()
    assert policy.input_alpha(29) == pytest.approx(0.01 / 29)  # the input diagnostic, over its columns
    assert policy.risk_alpha == pytest.approx(0.01 / 7)  # the seven pieces of model-at-risk evidence
    assert "p < 0.0014" in policy.describe()
    assert "0.01 / columns" in policy.describe()
    with pytest.raises(ValueError, match="family_alpha"):
        DriftPolicy(family_alpha=1.5)
    with pytest.raises(ValueError, match="min_rows"):
        DriftPolicy(min_rows=1)


# the use case


class Drift:
    def __init__(self, policy: DriftPolicy | None = None) -> None:
        self.captured = FakeCapturedPredictions()
        self.profiles = FakeReferenceProfiles()
        self.reports = FakeReports()
        self.publisher = FakePublisher()
        self.check = CheckDrift(
            self.captured, self.profiles, self.reports, AsymptoticTests(), FakeDriftChart(),
            self.publisher, policy or DriftPolicy(), model_name="fraud-lgbm",
        )  # fmt: skip
        inputs, scores = sample(60_000, 10)
        self.threshold = float(np.quantile(scores, 0.995))
        StoreReferenceProfile(self.profiles)("fraud-lgbm", 1, inputs, scores, self.threshold)

    def serve(self, inputs: np.ndarray, scores: np.ndarray, version: int = 1) -> None:
        self.captured.rows = captured(inputs, scores, version=version, threshold=self.threshold)


@pytest.fixture
def drift() -> Drift:
    return Drift()


def test_no_captured_rows_is_insufficient_data_and_publishes_nothing(drift: Drift) -> None:
    outcome = drift.check()
    assert outcome.report.status == "insufficient_data"
    assert "no captured predictions" in outcome.report.reason
    assert outcome.event is None
    assert drift.publisher.events == []
    stored = drift.reports.latest(DRIFT)  # stored all the same: dashboards see the check ran
    assert stored is not None
    assert stored.id == outcome.report.id
    again = DriftReport.from_dict(outcome.report.to_dict())  # NaN test alpha: null in JSON
    assert math.isnan(again.test_alpha)
    assert again.status == "insufficient_data"


def test_a_window_below_the_minimum_is_insufficient_data(drift: Drift) -> None:
    drift.serve(*sample(999, 11))
    report = drift.check().report
    assert report.status == "insufficient_data"
    assert report.reason == "insufficient data: 999 rows of v1, at least 1,000 needed"
    assert report.columns == ()
    assert drift.reports.saved[-1][3] == {}


def test_a_window_like_the_reference_is_not_drift(drift: Drift) -> None:
    drift.serve(*sample(5_000, 12))
    outcome = drift.check()
    report = outcome.report
    assert report.status == "no_drift", report.reason
    assert not report.at_risk
    assert not report.input_drift
    assert report.fired_evidence == ()
    assert [c.name for c in report.columns] == [*SCORING_INPUTS, SCORE]
    assert report.test_alpha == pytest.approx(0.01 / 7)  # the seven pieces of model-at-risk evidence
    assert [e.name for e in report.evidence] == [
        "score_distribution", "alert_rate", "outlier_pattern", "estimated_precision", "estimated_recall",
    ]  # fmt: skip
    assert report.estimate == estimate_performance(drift.captured.rows.probabilities, drift.threshold)
    assert report.reason.startswith("model not at risk (closest: ")
    assert report.reason.endswith("; no input drift")
    assert report.window.rows == 5_000
    assert report.window.start
    assert report.window.end
    assert outcome.event is None
    assert drift.publisher.events == []
    assert drift.reports.saved[-1][3] == {".png": f"chart of {report.id}".encode()}


def test_shifted_inputs_alone_are_input_drift_reported_but_never_published(drift: Drift) -> None:
    inputs, scores = sample(5_000, 13)
    inputs[:, [14, 21, 23]] += 0.5  # V15, V22, V24 by half a standard deviation; the scores unchanged
    drift.serve(inputs, scores)
    outcome = drift.check()
    report = outcome.report
    assert report.status == "input_drift", report.reason
    assert report.input_drift
    assert not report.at_risk
    assert report.drifted_inputs == ("V15", "V22", "V24")
    assert report.fired_evidence == ()
    assert outcome.event is None
    assert drift.publisher.events == []  # no retrain on input drift alone
    assert report.reason.startswith("model not at risk (closest: ")
    assert "; input drift (diagnostic) in V" in report.reason


def test_a_shifted_score_distribution_puts_the_model_at_risk_and_publishes(drift: Drift) -> None:
    inputs, scores = sample(5_000, 13)
    drift.serve(inputs, np.sqrt(scores))  # every score moved up: far beyond the score PSI floor
    outcome = drift.check()
    report = outcome.report
    assert report.status == "model_at_risk", report.reason
    assert report.at_risk
    assert not report.input_drift
    assert "score_distribution" in report.fired_evidence
    assert report.columns[-1].name == SCORE
    assert report.columns[-1].drifted
    assert report.drifted_inputs == ()  # the score column is evidence, not an input
    assert isinstance(outcome.event, DriftDetected)
    assert outcome.event.evidence == report.fired_evidence
    assert outcome.event.window_rows == 5_000
    assert outcome.event.report == outcome.location
    assert outcome.event.reason == report.reason
    assert drift.publisher.events == [outcome.event]
    assert report.reason.startswith("model at risk: score PSI ")
    assert report.reason.endswith("; no input drift")


def test_shifted_inputs_and_an_at_risk_model_report_both_verdicts(drift: Drift) -> None:
    inputs, scores = sample(5_000, 13)
    inputs[:, 14] += 0.5
    drift.serve(inputs, np.sqrt(scores))
    outcome = drift.check()
    assert outcome.report.status == "model_at_risk"  # at risk wins over input drift
    assert outcome.report.input_drift
    assert outcome.report.drifted_inputs == ("V15",)
    assert outcome.event is not None
    assert "; input drift (diagnostic) in V15 (PSI " in outcome.report.reason


def test_more_alerts_than_the_reference_is_evidence_from_the_alert_rate(drift: Drift) -> None:
    inputs, scores = sample(5_000, 14)
    scores[:100] = 0.99  # 2% flagged against 0.5% in the reference
    drift.serve(inputs, scores)
    report = drift.check().report
    assert report.status == "model_at_risk"
    assert report.alert_rate is not None
    assert report.alert_rate.drifted
    assert report.alert_rate.observed_rate > 0.02
    assert "alert rate" in report.reason
    assert report.fired_evidence == ("alert_rate",)
    assert drift.publisher.events[-1].evidence == ("alert_rate",)


def test_publish_false_reports_a_model_at_risk_without_an_event(drift: Drift) -> None:
    inputs, scores = sample(5_000, 15)
    scores[:100] = 0.99
    drift.serve(inputs, scores)
    outcome = drift.check(publish=False)
    assert outcome.report.at_risk
    assert outcome.event is None
    assert drift.publisher.events == []


def test_only_the_latest_versions_rows_are_checked(drift: Drift) -> None:
    old_inputs, old_scores = sample(3_000, 16)
    old_inputs += 2.0  # whatever v0 saw must not count against v1
    new_inputs, new_scores = sample(2_000, 17)
    a, b = captured(old_inputs, old_scores, version=0), captured(new_inputs, new_scores, version=1)
    drift.captured.rows = type(a)(
        *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in
          ("inputs", "probabilities", "decisions", "model_names", "model_versions", "scored_at")),
    )  # fmt: skip
    report = drift.check().report
    assert report.model_version == 1
    assert report.window.rows == 2_000
    assert report.window.other_version_rows == 3_000
    assert report.status == "no_drift", report.reason


def test_during_a_canary_the_champion_is_checked_whichever_version_answered_last(drift: Drift) -> None:
    """Before, the newest row's version was checked: here the challenger's 500 rows (insufficient data)."""
    inputs, scores = sample(5_000, 12)
    rows = captured(inputs, scores, version=1, threshold=drift.threshold)
    rows.model_versions[9::10] = 2  # a 10% canary of v2; the newest row is one of its
    assert rows.model_versions[-1] == 2
    drift.captured.rows = rows
    report = drift.check().report
    assert report.model_version == 1
    assert (report.window.rows, report.window.other_version_rows) == (4_500, 500)
    assert report.status == "no_drift", report.reason
    assert drift.reports.latest(DRIFT).model_version == 1  # the live verdict


def test_a_replaced_version_is_not_checked_though_older_and_most_of_the_window(drift: Drift) -> None:
    """A promotion ended v1's traffic 60 rows ago: v3, the one serving, is checked, not v1 and its 1,940
    rows (at risk, it would be published again after its replacement)."""
    inputs, scores = sample(2_000, 19)
    rows = captured(inputs, scores, version=3, threshold=drift.threshold)
    rows.model_versions[:1_940] = 1
    drift.captured.rows = rows
    report = drift.check().report
    assert report.model_version == 3
    assert report.reason == "insufficient data: 60 rows of v3, at least 1,000 needed"


def checking_with(drift: Drift, latest_quality: Callable[[], QualityReport | None]) -> CheckDrift:
    return CheckDrift(
        drift.captured, drift.profiles, drift.reports, AsymptoticTests(), FakeDriftChart(), drift.publisher,
        DriftPolicy(), model_name="fraud-lgbm", latest_quality=latest_quality,
    )  # fmt: skip


def test_an_unreadable_quality_report_leaves_the_check_to_the_other_evidence(
    drift: Drift, caplog: pytest.LogCaptureFixture
) -> None:
    """On AWS the drift Lambda's role could not read it: every check with enough rows failed."""

    def denied() -> QualityReport | None:
        raise DataSourceError("cannot read s3://b/fraud/quality/latest.json: AccessDenied")

    def down() -> QualityReport | None:
        raise ServiceUnavailableError("cannot read s3://b/fraud/quality/latest.json: Read timeout")

    drift.serve(*sample(2_000, 14))
    caplog.set_level(logging.WARNING)  # a Celery worker started in this process may leave the root at ERROR
    assert checking_with(drift, denied)().report.status == "no_drift"
    assert "drift check without realised quality: its report is unreadable: cannot read" in caplog.text
    with pytest.raises(ServiceUnavailableError):  # an outage: the whole check is retried
        checking_with(drift, down)()


def test_a_version_without_a_profile_is_a_clear_error(drift: Drift) -> None:
    drift.serve(*sample(2_000, 18), version=7)
    with pytest.raises(ReferenceProfileMissingError, match="'fraud-lgbm' v7 has no reference profile"):
        drift.check()


def test_last_rows_reaches_the_reader_and_bad_windows_are_refused(drift: Drift) -> None:
    drift.serve(*sample(3_000, 19))
    assert drift.check(DriftWindowSpec(last_rows=1_500)).report.window.rows == 1_500
    assert drift.captured.requests[-1] == (None, None, 1_500)
    with pytest.raises(ValueError, match="last_rows must be at least 1"):
        DriftWindowSpec(last_rows=0)


def test_the_report_round_trips_through_json_with_nan_and_skipped_files(drift: Drift) -> None:
    inputs, scores = sample(2_000, 20)
    inputs[:, 3] = np.nan  # a column the clients never sent
    drift.captured.rows = captured(inputs, scores, skipped=("predictions/bad.parquet",))
    report = drift.check().report
    document = report.to_dict()
    assert document["columns"][3]["psi"] is None  # JSON has no NaN
    again = DriftReport.from_dict(document)
    assert again.window.skipped_files == ("predictions/bad.parquet",)
    assert math.isnan(again.columns[3].psi)
    assert not again.columns[3].drifted
    assert again.alert_rate == report.alert_rate
    assert again.drifted_inputs == report.drifted_inputs
    assert again.evidence == report.evidence
    assert again.estimate == report.estimate
    assert again.status == report.status


def test_the_pipeline_stores_a_profile_for_each_registered_version(world) -> None:  # type: ignore[no-untyped-def]
    summary = world.run_pipeline()
    profile = world.profiles.load(world.registry.model_name, summary.version.version)
    assert profile is not None
    training = summary.training
    threshold = training.threshold.threshold
    assert profile.threshold == threshold
    assert profile.score.rows == summary.folds["rows"]  # the refit model's scores of its own rows
    assert profile.features[0].rows == summary.folds["rows"]  # inputs: every row the model was fitted on
    # the alert rate and the estimated and realised figures: the out-of-fold rows
    oof, labels = training.oof_scores, training.out_of_fold.labels
    assert profile.scored_rows == len(oof) < summary.folds["rows"]
    assert profile.alerts == int((oof >= threshold).sum())
    weight = training.chosen.scale_pos_weight
    assert profile.positive_weight == weight
    assert profile.estimate == estimate_performance(oof, threshold, weight)
    hits = int(((oof >= threshold) & (labels == 1)).sum())
    assert profile.realised_precision == pytest.approx(hits / int((oof >= threshold).sum()))
    assert profile.realised_recall == pytest.approx(hits / int((labels == 1).sum()))
    # how far the estimates can be trusted is logged with the training
    run = world.tracker.runs[0]
    assert 0.0 <= run.metrics["oot_brier"] <= 1.0
    bins = run.artifacts["training/reliability.json"]["bins"]
    assert sum(b["rows"] for b in bins) == len(oof)


def test_outliers_standing_out_on_other_columns_are_drift_of_the_outlier_pattern() -> None:
    """Reference outliers ("frauds") are extreme on columns 0-4; the window's on columns 10-14."""
    drift = Drift()
    rng = np.random.default_rng(21)
    inputs, scores = sample(60_000, 22)
    inputs[:40, :5] -= 8.0
    drift.profiles.profiles.clear()
    StoreReferenceProfile(drift.profiles)("fraud-lgbm", 1, inputs, scores, drift.threshold)
    signature = drift.profiles.load("fraud-lgbm", 1).outliers
    assert signature is not None
    assert signature.rows >= 40
    assert sum(signature.cells[:5]) >= 200

    window, window_scores = sample(5_000, 23)
    window[:10, :5] -= 8.0  # the usual outliers: no drift
    drift.serve(window, window_scores)
    usual = drift.check().report
    assert usual.outliers is not None
    assert not usual.outliers.drifted, usual.reason
    assert usual.status == "no_drift", usual.reason

    moved, moved_scores = sample(5_000, 24)
    moved[:10, 10:15] -= 8.0 * rng.choice([-1, 1], size=(10, 5))  # as many outliers, elsewhere
    drift.serve(moved, moved_scores)
    report = drift.check().report
    assert report.outliers is not None
    assert report.outliers.drifted
    assert report.outliers.outlying_rows == 10
    assert set(report.outliers.unusual_columns) == {"V11", "V12", "V13", "V14", "V15"}
    assert report.outliers.shift >= DriftPolicy().min_outlier_shift
    assert report.status == "model_at_risk"
    assert "outlier_pattern" in report.fired_evidence
    assert "outlying rows stand out on V1" in report.reason
    again = DriftReport.from_dict(report.to_dict())
    assert again.outliers == report.outliers


# the decision rule at its limits: p-values stubbed on either side of each level


class FixedTests(DistributionTests):
    """Answers the p-value it was given for each kind of test: isolates the rule from the statistics."""

    def __init__(self, ks: float = 1.0, binomial: float = 1.0, chi2: float = 1.0) -> None:
        self.ks, self.binomial, self.chi2 = ks, binomial, chi2

    def ks_p_value(self, statistic: float, rows: int) -> float:
        return self.ks

    def binomial_p_value(self, successes: int, trials: int, probability: float) -> float:
        return self.binomial

    def chi2_p_value(self, statistic: float, degrees_of_freedom: int) -> float:
        return self.chi2


# Bonferroni: the family's 1% over the 29 input columns (the diagnostic), and over the four pieces of
# pieces of model-at-risk evidence (score, alert rate, outlier pattern, estimated and realised precision
# and recall).
INPUT_ALPHA = DriftPolicy().input_alpha(FEATURES)
RISK_ALPHA = DriftPolicy().risk_alpha
JUST_BELOW, JUST_ABOVE = INPUT_ALPHA * 0.99, INPUT_ALPHA * 1.01  # both far below the family's 1%
RISK_BELOW, RISK_ABOVE = RISK_ALPHA * 0.99, RISK_ALPHA * 1.01


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    drift = Drift()
    profile = drift.profiles.load("fraud-lgbm", 1)
    assert profile is not None
    return profile


def shifted(column: int, by: float, seed: int = 40) -> tuple[np.ndarray, np.ndarray]:
    inputs, scores = sample(5_000, seed)
    inputs[:, column] += by
    return inputs, scores


@pytest.mark.parametrize(("p_value", "drifted"), [(JUST_BELOW, True), (JUST_ABOVE, False)])
def test_a_column_is_judged_at_the_bonferroni_level_not_the_family_level(
    reference: ReferenceProfile, p_value: float, drifted: bool
) -> None:
    inputs, scores = shifted(0, 1.0)  # PSI far above the floor: only the p-value decides
    found = compare(reference, inputs, scores, DriftPolicy(), FixedTests(ks=p_value))
    assert found.columns[0].drifted is drifted
    assert found.input_drift is drifted
    assert not found.at_risk  # an input is a diagnostic: never evidence, whatever its p-value
    assert not found.columns[-1].drifted  # the score's p-value is as small, its PSI far below the floor


def test_a_significant_column_needs_the_psi_floor_which_is_inclusive(reference: ReferenceProfile) -> None:
    inputs, scores = shifted(0, 0.3)
    psi = population_stability_index(reference.features[0], inputs[:, 0])
    significant = FixedTests(ks=1e-12)
    at_floor = compare(reference, inputs, scores, DriftPolicy(min_psi=psi), significant)
    over_floor = DriftPolicy(min_psi=float(np.nextafter(psi, np.inf)))
    below = compare(reference, inputs, scores, over_floor, significant)
    assert at_floor.columns[0].drifted
    assert not below.columns[0].drifted


def test_a_large_shift_without_significance_is_not_drift(reference: ReferenceProfile) -> None:
    inputs, scores = shifted(0, 2.0)
    found = compare(reference, inputs, scores, DriftPolicy(), FixedTests(ks=JUST_ABOVE))
    assert population_stability_index(reference.features[0], inputs[:, 0]) > 1.0
    assert not found.input_drift
    assert found.fired() == []


@pytest.mark.parametrize(("p_value", "fired"), [(RISK_BELOW, True), (RISK_ABOVE, False)])
def test_the_score_is_judged_at_the_risk_level_not_the_input_level(
    reference: ReferenceProfile, p_value: float, fired: bool
) -> None:
    inputs, scores = sample(5_000, 40)
    found = compare(reference, inputs, np.sqrt(scores), DriftPolicy(), FixedTests(ks=p_value))
    assert p_value > INPUT_ALPHA  # an input with this p-value would not count
    assert found.columns[-1].drifted is fired
    assert ("score_distribution" in found.fired()) is fired
    assert not found.input_drift


def alert_rate_change(found: Comparison) -> float:
    """The relative change, computed as the rule computes it (so a floor set to it sits exactly on it)."""
    rate = found.alert_rate
    reference_rate = rate.reference_alerts / rate.reference_rows
    return abs(rate.observed_alerts / rate.window_rows - reference_rate) / reference_rate


def test_the_alert_rate_needs_both_significance_and_the_change_floor(reference: ReferenceProfile) -> None:
    inputs, scores = sample(5_000, 41)
    scores[:60] = 0.99  # about 1.7% flagged against 0.5% in the reference
    probe = compare(reference, inputs, scores, DriftPolicy(), FixedTests(binomial=RISK_BELOW))
    change = alert_rate_change(probe)
    assert probe.alert_rate.drifted
    assert probe.fired() == ["alert_rate"]

    def judged(policy: DriftPolicy, p_value: float) -> bool:
        return compare(reference, inputs, scores, policy, FixedTests(binomial=p_value)).alert_rate.drifted

    assert judged(DriftPolicy(min_alert_rate_change=change), RISK_BELOW)  # the floor is inclusive
    assert not judged(DriftPolicy(min_alert_rate_change=float(np.nextafter(change, np.inf))), RISK_BELOW)
    assert not judged(DriftPolicy(), RISK_ABOVE)  # a big change alone is not enough


def test_the_outlier_pattern_is_judged_at_the_bonferroni_level(reference: ReferenceProfile) -> None:
    inputs, scores = sample(5_000, 42)
    inputs[:30, 10:15] += 12.0  # rows outlying on five columns: the G-test has cells to count
    below = compare(reference, inputs, scores, DriftPolicy(), FixedTests(chi2=RISK_BELOW))
    above = compare(reference, inputs, scores, DriftPolicy(), FixedTests(chi2=RISK_ABOVE))
    assert below.outliers is not None
    assert below.outliers.extreme_cells > 0
    assert below.outliers.shift >= DriftPolicy().min_outlier_shift
    assert below.outliers.drifted
    assert below.fired() == ["outlier_pattern"]
    assert above.outliers is not None
    assert not above.outliers.drifted
    assert not above.at_risk


def test_exactly_the_minimum_rows_of_the_serving_version_is_enough(drift: Drift) -> None:
    drift.serve(*sample(1_000, 43))
    assert drift.check().report.status != "insufficient_data"


def test_the_minimum_counts_the_serving_versions_rows_not_the_whole_window(drift: Drift) -> None:
    """1,400 rows in the window, but only 900 scored by the version being checked."""
    a, b = captured(*sample(500, 44), version=0), captured(*sample(900, 45), version=1)
    drift.captured.rows = type(a)(
        *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in
          ("inputs", "probabilities", "decisions", "model_names", "model_versions", "scored_at")),
    )  # fmt: skip
    report = drift.check().report
    assert report.status == "insufficient_data"
    assert report.reason == "insufficient data: 900 rows of v1, at least 1,000 needed"


# historical checks: a window that ends before the check runs


PAST = DriftWindowSpec(since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2020, 1, 2, tzinfo=UTC))


def test_an_empty_past_window_is_stored_as_historical_and_the_live_verdict_stays(drift: Drift) -> None:
    inputs, scores = sample(5_000, 13)
    drift.serve(inputs, np.sqrt(scores))  # the traffic now: model at risk
    live = drift.check()
    assert live.report.at_risk
    assert not live.historical

    past = drift.check(PAST, publish=False)

    assert past.historical
    assert past.report.historical
    assert past.report.status == "insufficient_data"
    assert drift.captured.requests[-1] == (PAST.since, PAST.until, None)
    assert [name for _, name, _, _ in drift.reports.saved] == [live.report.id, past.report.id]  # stored
    assert DriftReport.from_dict(drift.reports.saved[-1][2]).historical  # and says what it is
    latest = drift.reports.latest(DRIFT)
    assert latest is not None
    assert latest.id == live.report.id  # what `fraud drift show` and /metrics read
    assert latest.at_risk
    listed = drift.reports.recent(DRIFT, 10)
    assert [(r.id, r.historical) for _, r in listed] == [(past.report.id, True), (live.report.id, False)]


def test_a_past_window_at_risk_publishes_nothing_even_when_asked(drift: Drift) -> None:
    inputs, scores = sample(5_000, 13)
    drift.serve(inputs, np.sqrt(scores))  # captured from 2026-11-01 00:00 UTC, one row a second
    window = DriftWindowSpec(
        since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 1, 1, tzinfo=UTC)
    )
    outcome = drift.check(window, publish=True)
    assert outcome.report.at_risk  # the verdict on that past hour is reported...
    assert outcome.report.window.rows == 3_600
    assert outcome.historical
    assert outcome.event is None  # ...but the model serving now is not retrained on it
    assert drift.publisher.events == []
    assert drift.reports.latest(DRIFT) is None  # no live check yet


def test_a_window_is_historical_only_when_it_ends_by_the_time_of_the_check() -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert not DriftWindowSpec().historical(now)
    assert not DriftWindowSpec(since=now - hour).historical(now)  # open-ended: reaches now
    assert not DriftWindowSpec(last_rows=10).historical(now)
    assert not DriftWindowSpec.last_hours(24).historical(now + hour)  # the scheduled checks
    assert not DriftWindowSpec(since=now - hour, until=now + hour).historical(now)  # ends ahead
    assert DriftWindowSpec(since=now - 2 * hour, until=now).historical(now)
    assert DriftWindowSpec.last_hours(2, until=now - hour).historical(now)
    assert DriftWindowSpec(until=now - hour, last_rows=5).historical(now)
    assert DriftWindowSpec(until=datetime(2026, 12, 3, 11)).historical(now)  # naive: UTC
    assert not DriftWindowSpec(until=datetime(2026, 12, 3, 13)).historical(now)
