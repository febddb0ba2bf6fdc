"""The two verdicts of a drift check kept apart, and each piece of model-at-risk evidence at its floor.

Input drift is a diagnostic: reported, never published. The model is at risk when a piece of evidence
fires: a p-value below the risk level *and* an effect at its floor. The distribution tests' p-values are
stubbed here (the estimate's z-test is computed from the reference's errors, set by hand), effects built by
hand on a small reference: three ramp input columns, and a window of 1,000 scores ("the baseline") whose own
estimate is the reference's, so that a window departs from the reference only where a test changes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from fraud_detection.application.drift.check import CheckDrift, DriftOutcome
from fraud_detection.application.drift.compare import Comparison, compare
from fraud_detection.domain.drift.estimate import PerformanceEstimate, estimate_performance
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.profile import (
    QUANTILE_POINTS,
    DistributionProfile,
    OutlierSignature,
    ReferenceProfile,
)
from fraud_detection.domain.drift.report import DriftReport, Evidence
from fraud_detection.domain.drift.statistics import population_stability_index
from fraud_detection.domain.feedback import ConfusionCounts, QualityReport, RealisedQuality, TimeWindow
from fraud_detection.domain.ports.drift import DistributionTests
from tests.drift_fakes import (
    FakeCapturedPredictions,
    FakeDriftChart,
    FakeReferenceProfiles,
    FakeReports,
    captured,
)
from tests.fakes import FakePublisher

THRESHOLD = 0.5
RISK_ALPHA = DriftPolicy().risk_alpha
JUST_BELOW, JUST_ABOVE = RISK_ALPHA * 0.99, RISK_ALPHA * 1.01
TINY = 1e-300  # as significant as a p-value gets
NOW = datetime(2026, 11, 1, tzinfo=UTC)
QUALITY_WINDOW = TimeWindow.last_days(30, NOW)
# Where a drift report says its realised figures come from: the quality report's rows, not the window's.
FROM_REPORT = "labelled rows scored 2026-10-02 00:00..2026-11-01 00:00 UTC (latest quality report)"


def scores(alerts: int, alert_score: float, rest_sum: float, rows: int = 1_000) -> np.ndarray:
    """`alerts` rows scored `alert_score` (at or above the threshold), the rest spread evenly from 0 so
    that they add up to `rest_sum`: the expected true positives are alerts * alert_score, the expected
    frauds those plus rest_sum."""
    rest = rows - alerts
    return np.concatenate([np.full(alerts, alert_score), np.linspace(0.0, 2 * rest_sum / rest, rest)])


BASELINE = scores(10, 0.8, 12.0)  # estimated precision 8 / 10 = 0.8, recall 8 / 20 = 0.4
# The reference's estimate with sampling errors chosen by hand (the z-test's scale): a window of the
# reference's size falls by k * sqrt(2) * error at k standard errors.
PRECISION_ERROR, RECALL_ERROR = 0.01, 0.005
REFERENCE_ESTIMATE = replace(
    estimate_performance(BASELINE, THRESHOLD), precision_error=PRECISION_ERROR, recall_error=RECALL_ERROR
)
REALISED_PRECISION, REALISED_RECALL = 0.8, 0.6  # the reference's out-of-fold figures


def small_reference(columns: int = 3, **changes: object) -> ReferenceProfile:
    """Ramp input columns (quantile i is i) named c0, c1, ...; the baseline's scores and estimate."""
    profile = ReferenceProfile(
        model_name="fraud-lgbm",
        model_version=1,
        features=tuple(
            DistributionProfile(f"c{i}", np.arange(float(QUANTILE_POINTS)), 5_000) for i in range(columns)
        ),
        score=DistributionProfile.of("score", BASELINE),
        alerts=10,
        scored_rows=1_000,
        threshold=THRESHOLD,
        created_at="2026-10-01T00:00:00+00:00",
        estimate=REFERENCE_ESTIMATE,
        realised_precision=REALISED_PRECISION,
        realised_recall=REALISED_RECALL,
    )
    return replace(profile, **changes)  # type: ignore[arg-type]


def quiet_inputs(rows: int = 1_000, columns: int = 3) -> np.ndarray:
    """Spread evenly over the ramp columns (no input drift), each column rolled by a different offset so
    that no row is extreme on two columns at once (no outlying rows)."""
    column = (np.arange(rows) + 0.5) * 1000 / rows
    return np.stack([np.roll(column, j * rows // (columns + 1)) for j in range(columns)], axis=1)


def outlying_inputs(columns: int = 3) -> np.ndarray:
    inputs = quiet_inputs(columns=columns)
    inputs[:4] = 5_000.0  # four rows extreme on every column: the same count of cells in each
    return inputs


def shifted_scores() -> np.ndarray:
    """The baseline with its non-alerts piled on their mean: the estimate and alerts as the baseline's."""
    return np.concatenate([BASELINE[:10], np.full(990, BASELINE[10:].mean())])


def matching_signature() -> OutlierSignature:
    """Outlying cells spread over the columns as `outlying_inputs` spreads them."""
    return OutlierSignature((10.0, 10.0, 10.0), rows=10, tail_index=2, min_columns=3)


class StubTests(DistributionTests):
    """The same p-value for every test of a kind; records the binomial tests asked for."""

    def __init__(self, ks: float = 1.0, binomial: float = 1.0, chi2: float = 1.0) -> None:
        self.ks, self.binomial, self.chi2 = ks, binomial, chi2
        self.binomial_calls: list[tuple[int, int, float]] = []

    def ks_p_value(self, statistic: float, rows: int) -> float:
        return self.ks

    def binomial_p_value(self, successes: int, trials: int, probability: float) -> float:
        self.binomial_calls.append((successes, trials, probability))
        return self.binomial

    def chi2_p_value(self, statistic: float, degrees_of_freedom: int) -> float:
        return self.chi2


def realised(tp: int, fp: int, fn: int, tn: int = 900, version: int = 1) -> RealisedQuality:
    return RealisedQuality.of(version, ConfusionCounts(tp, fp, fn, tn), QUALITY_WINDOW)


def evidence(found: Comparison, name: str) -> Evidence:
    (item,) = (item for item in found.evidence if item.name == name)
    return item


def names(found: Comparison) -> list[str]:
    return [item.name for item in found.evidence]


def judge(
    probabilities: np.ndarray = BASELINE,
    policy: DriftPolicy | None = None,
    tests: StubTests | None = None,
    inputs: np.ndarray | None = None,
    quality: RealisedQuality | None = None,
    reference: ReferenceProfile | None = None,
) -> Comparison:
    return compare(
        reference or small_reference(),
        quiet_inputs() if inputs is None else inputs,
        probabilities,
        policy or DriftPolicy(),
        tests or StubTests(),
        quality,
    )


def fires(name: str, probabilities: np.ndarray = BASELINE, **policy: float) -> bool:
    """Whether the evidence `name` fires on `probabilities` (no p-value significant) under `policy`."""
    return evidence(judge(probabilities, DriftPolicy(**policy)), name).fired  # type: ignore[arg-type]


def below(value: float) -> float:
    return float(np.nextafter(value, -np.inf))


def above(value: float) -> float:
    return float(np.nextafter(value, np.inf))


# the baseline itself


def test_the_baseline_is_the_reference_with_every_piece_of_evidence_quiet() -> None:
    assert REFERENCE_ESTIMATE.precision == pytest.approx(0.8)
    assert REFERENCE_ESTIMATE.recall == pytest.approx(0.4)
    found = judge(quality=realised(40, 10, 27), reference=small_reference(outliers=matching_signature()))
    assert names(found) == [
        "score_distribution", "alert_rate", "outlier_pattern", "estimated_precision", "estimated_recall",
        "realised_precision", "realised_recall",
    ]  # fmt: skip
    assert found.fired() == []
    assert not found.at_risk
    assert not found.input_drift


def test_p_values_alone_never_decide() -> None:
    """Every stubbed test as significant as can be, every effect below its floor: nothing fires."""
    tests = StubTests(ks=TINY, binomial=TINY, chi2=TINY)
    found = judge(
        tests=tests,
        inputs=outlying_inputs(),
        quality=realised(40, 10, 27),  # precision 0.8 as the reference, recall 0.597 against 0.6
        reference=small_reference(outliers=matching_signature()),
    )
    assert [evidence(found, name).p_value for name in ("score_distribution", "alert_rate")] == [TINY] * 2
    assert evidence(found, "outlier_pattern").p_value == TINY
    assert evidence(found, "realised_recall").p_value == TINY
    assert all(item.effect is not None and item.effect < item.floor for item in found.evidence)
    assert found.fired() == []
    assert not found.at_risk


# the verdicts kept apart


def test_input_drift_is_no_evidence_however_significant() -> None:
    inputs = quiet_inputs()
    inputs[:, 0] += 2_000.0
    found = judge(tests=StubTests(ks=TINY), inputs=inputs)
    assert found.input_drift
    assert [c.name for c in found.columns if c.drifted] == ["c0"]
    assert not found.at_risk
    assert found.fired() == []


def test_the_score_is_evidence_not_input_drift() -> None:
    found = judge(shifted_scores(), tests=StubTests(ks=TINY))
    assert found.at_risk
    assert found.fired() == ["score_distribution"]
    assert not found.input_drift


# score distribution: KS p-value below the risk level, PSI at its floor


def test_the_score_psi_floor_is_inclusive() -> None:
    probabilities = shifted_scores()
    psi = population_stability_index(small_reference().score, probabilities)
    assert psi > DriftPolicy().min_score_psi

    def fired(min_score_psi: float) -> bool:
        policy = DriftPolicy(min_score_psi=min_score_psi)
        return evidence(judge(probabilities, policy, StubTests(ks=JUST_BELOW)), "score_distribution").fired

    assert fired(psi)
    assert not fired(above(psi))
    item = evidence(judge(probabilities, tests=StubTests(ks=JUST_BELOW)), "score_distribution")
    assert (item.effect, item.floor, item.p_value, item.reference) == (psi, 0.1, JUST_BELOW, None)
    assert item.detail == f"score PSI {psi:.3f}, KS {item.observed:.3f}"


@pytest.mark.parametrize(("p_value", "fired"), [(JUST_BELOW, True), (RISK_ALPHA, False), (JUST_ABOVE, False)])
def test_the_score_is_judged_at_the_risk_level(p_value: float, fired: bool) -> None:
    found = judge(shifted_scores(), tests=StubTests(ks=p_value))
    assert found.fired() == (["score_distribution"] if fired else [])


# alert rate: binomial p-value below the risk level, relative change at its floor


def more_alerts(alerts: int) -> np.ndarray:
    """`alerts` alerts against the reference's 10, with the reference's estimated precision and recall."""
    return scores(alerts, 0.8, 0.8 * alerts * 1.5)


@pytest.mark.parametrize("alerts", [13, 7], ids=["more", "fewer"])
def test_the_alert_rate_change_floor_is_inclusive_either_way(alerts: int) -> None:
    probabilities = more_alerts(alerts)
    change = abs(alerts / 1_000 - 10 / 1_000) / (10 / 1_000)  # as the rule computes it
    assert change == pytest.approx(0.3)

    def fired(floor: float, p_value: float = JUST_BELOW) -> bool:
        policy = DriftPolicy(min_alert_rate_change=floor)
        return evidence(judge(probabilities, policy, StubTests(binomial=p_value)), "alert_rate").fired

    assert fired(change)
    assert not fired(above(change))
    assert not fired(change, RISK_ALPHA)
    found = judge(probabilities, DriftPolicy(), StubTests(binomial=JUST_BELOW))
    assert found.fired() == ["alert_rate"]  # the estimate did not move
    item = evidence(found, "alert_rate")
    assert (item.observed, item.reference, item.effect) == (alerts / 1_000, 0.01, change)
    assert item.detail == f"alert rate {alerts / 1_000:.3%} vs 1.000%"


def test_a_change_below_the_floor_is_not_evidence_however_significant() -> None:
    found = judge(more_alerts(12), tests=StubTests(binomial=TINY))  # a 20% change
    assert not evidence(found, "alert_rate").fired


# outlier pattern: G-test p-value below the risk level, total variation shift at its floor


def test_the_outlier_shift_floor_is_inclusive_and_needs_the_p_value() -> None:
    reference = small_reference(outliers=OutlierSignature((20.0, 5.0, 5.0), 10, 2, 3))

    def found(floor: float | None = None, p_value: float = JUST_BELOW) -> Comparison:
        policy = DriftPolicy() if floor is None else DriftPolicy(min_outlier_shift=floor)
        tests = StubTests(chi2=p_value)
        return judge(inputs=outlying_inputs(), reference=reference, policy=policy, tests=tests)

    shift = evidence(found(), "outlier_pattern").effect
    assert shift is not None
    assert shift == pytest.approx(0.5 * float(np.abs(1 / 3 - np.array([20.5, 5.5, 5.5]) / 31.5).sum()))
    assert found().fired() == ["outlier_pattern"]
    assert found(shift).fired() == ["outlier_pattern"]
    assert found(above(shift)).fired() == []
    assert found(p_value=RISK_ALPHA).fired() == []
    # 12 cells: 2.1 expected on c1 and on c2 from the reference, 4 found (more than one cell over)
    detail = evidence(found(), "outlier_pattern").detail
    assert detail == f"outlying rows stand out on c1, c2 (shift {shift:.3f})"


def test_outliers_spread_as_in_the_reference_are_not_evidence_however_significant() -> None:
    found = judge(
        inputs=outlying_inputs(), reference=small_reference(outliers=matching_signature()),
        tests=StubTests(chi2=TINY),
    )  # fmt: skip
    assert evidence(found, "outlier_pattern").effect == pytest.approx(0.0, abs=1e-12)
    assert found.fired() == []


# estimated precision and recall: a fall beyond the tolerance, a one-sided z-test against the reference's
# sampling error, over enough expected frauds


def z_test(drop: float, error: float, reference_rows: int = 1_000, window_rows: int = 1_000) -> float:
    """The rule's p-value by hand: the window's error predicted from the reference's at the window's size,
    combined with the reference's own."""
    null_error = math.sqrt(error**2 * reference_rows / window_rows + error**2)
    return 0.5 * math.erfc(drop / null_error / math.sqrt(2))


def test_estimated_precision_must_fall_by_more_than_its_tolerance() -> None:
    probabilities = scores(10, 0.6, 9.0)  # precision 0.6, recall 6 / 15 = 0.4 as the reference's
    drop = 0.8 - 0.6
    item = evidence(judge(probabilities), "estimated_precision")
    assert item.effect == pytest.approx(drop)
    assert item.observed == pytest.approx(0.6)
    assert item.reference == pytest.approx(0.8)
    assert item.p_value == pytest.approx(z_test(drop, PRECISION_ERROR), rel=1e-6)
    assert item.detail == "estimated precision 0.600 vs 0.800 in the reference"
    assert judge(probabilities).fired() == ["estimated_precision"]
    effect = item.effect
    assert effect is not None
    assert not fires("estimated_precision", probabilities, precision_tolerance=effect)  # exclusive
    assert fires("estimated_precision", probabilities, precision_tolerance=below(effect))


def test_estimated_recall_must_fall_by_more_than_its_tolerance() -> None:
    probabilities = scores(10, 0.8, 24.0)  # precision 0.8 as the reference's, recall 8 / 32 = 0.25
    item = evidence(judge(probabilities), "estimated_recall")
    assert item.effect == pytest.approx(0.4 - 0.25)
    assert item.p_value == pytest.approx(z_test(0.15, RECALL_ERROR), rel=1e-6)
    assert judge(probabilities).fired() == ["estimated_recall"]
    effect = item.effect
    assert effect is not None
    assert not fires("estimated_recall", probabilities, recall_tolerance=effect)  # exclusive
    assert fires("estimated_recall", probabilities, recall_tolerance=below(effect))


def test_a_small_fall_of_the_estimate_is_not_evidence_however_significant() -> None:
    """Recall 8 / 20.8 = 0.385: 0.015 below the reference's, inside the 0.02 tolerance, at 1,500
    standard errors (a reference estimated without any spread)."""
    precise = small_reference(estimate=replace(REFERENCE_ESTIMATE, recall_error=1e-5))
    found = judge(scores(10, 0.8, 12.8), reference=precise)
    item = evidence(found, "estimated_recall")
    assert item.effect == pytest.approx(0.4 - 8 / 20.8)
    assert item.p_value is not None
    assert item.p_value < 1e-100
    assert found.fired() == []


def test_a_fall_beyond_the_tolerance_within_the_sampling_error_is_not_evidence() -> None:
    """Precision 0.2 below the reference's, but its estimate is uncertain by 0.1: z = 1.41, p = 0.08."""
    noisy = small_reference(estimate=replace(REFERENCE_ESTIMATE, precision_error=0.1))
    item = evidence(judge(scores(10, 0.6, 9.0), reference=noisy), "estimated_precision")
    assert item.p_value == pytest.approx(z_test(0.2, 0.1))
    assert item.p_value == pytest.approx(0.0786, abs=1e-4)
    assert not item.fired


@pytest.mark.parametrize(("level", "fired"), [(1 / 0.99, True), (1 / 1.01, False)])
def test_the_estimated_fall_is_judged_at_the_risk_level(level: float, fired: bool) -> None:
    """The fall's p-value just below and just above the risk level (set through the family alpha)."""
    reference = small_reference(estimate=replace(REFERENCE_ESTIMATE, precision_error=0.035))
    p_value = z_test(0.2, 0.035)
    assert 1e-5 < p_value < 1e-3
    policy = DriftPolicy(family_alpha=p_value * level * 7)  # seven pieces of evidence
    item = evidence(judge(scores(10, 0.6, 9.0), policy, reference=reference), "estimated_precision")
    assert item.p_value is not None
    assert (item.p_value < policy.risk_alpha) is fired
    assert item.fired is fired


def test_the_sampling_error_scales_with_the_window() -> None:
    """A quarter of the reference's rows: the window's error is twice the reference's."""
    reference = small_reference(estimate=replace(REFERENCE_ESTIMATE, precision_error=0.035))
    item = evidence(
        judge(scores(10, 0.6, 9.0, rows=250), inputs=quiet_inputs(250), reference=reference),
        "estimated_precision",
    )
    assert item.p_value == pytest.approx(z_test(0.2, 0.035, window_rows=250), rel=1e-6)
    assert item.p_value == pytest.approx(0.5 * math.erfc(0.2 / (0.035 * math.sqrt(5)) / math.sqrt(2)))


def test_a_reference_estimate_without_errors_never_fires() -> None:
    """An estimate stored before the errors were: no z-test, so no evidence however far it falls."""
    bare = small_reference(estimate=replace(REFERENCE_ESTIMATE, precision_error=None, recall_error=None))
    found = judge(scores(0, 0.0, 100.0), reference=bare)  # no alert: recall 0 against 0.4
    item = evidence(found, "estimated_recall")
    assert item.effect == pytest.approx(0.4)
    assert (item.p_value, item.fired) == (None, False)
    assert found.fired() == []


def test_too_few_expected_frauds_decide_nothing_and_say_so() -> None:
    """Five expected frauds, all alerts: precision 0.5 is far below 0.8, but five frauds are too few."""
    probabilities = scores(10, 0.5, 0.0)
    expected_frauds = estimate_performance(probabilities, THRESHOLD).expected_frauds
    assert expected_frauds == 5.0

    def item(min_expected_frauds: float) -> Evidence:
        found = judge(probabilities, DriftPolicy(min_expected_frauds=min_expected_frauds))
        return evidence(found, "estimated_precision")

    assert not item(10).fired
    assert item(10).detail == (
        "estimated precision 0.500 vs 0.800 in the reference (5.0 expected frauds: too few to decide)"
    )
    assert item(10).effect == pytest.approx(0.3)  # reported all the same
    assert item(expected_frauds).fired  # the guard is inclusive
    assert not item(above(expected_frauds)).fired


def test_an_undefined_estimate_is_reported_and_never_fires() -> None:
    """No alert at all: no estimated precision; the estimated recall is 0 (the model stopped alerting)."""
    found = judge(scores(0, 0.0, 100.0))
    precision = evidence(found, "estimated_precision")
    assert (precision.observed, precision.effect, precision.fired) == (None, None, False)
    assert precision.detail == "estimated precision n/a vs 0.800 in the reference"
    assert evidence(found, "estimated_recall").observed == 0.0
    assert found.fired() == ["estimated_recall"]


def test_a_reference_without_an_estimate_has_no_estimated_evidence() -> None:
    found = judge(scores(10, 0.1, 100.0), reference=small_reference(estimate=None))
    assert "estimated_precision" not in names(found)
    assert "estimated_recall" not in names(found)
    assert found.estimate.alerts == 0  # the window's estimate is still reported


def test_the_estimate_undoes_the_references_positive_weight() -> None:
    reference = small_reference(positive_weight=4.0)
    found = judge(BASELINE, reference=reference)
    assert found.estimate == estimate_performance(BASELINE, THRESHOLD, 4.0)
    assert found.estimate.alerts == 10  # alerts on the raw scores, as served
    assert found.estimate.precision == pytest.approx(0.8 / (0.8 + 0.2 * 4.0))  # 0.5


# realised precision and recall: a fall beyond the tolerance, enough labelled frauds, binomial p-value


def test_realised_precision_fires_on_a_significant_fall_beyond_the_tolerance() -> None:
    tests = StubTests(binomial=JUST_BELOW)
    found = judge(tests=tests, quality=realised(30, 20, 20))  # precision 0.6, recall 0.6
    assert found.fired() == ["realised_precision"]
    assert tests.binomial_calls[1:] == [(30, 50, 0.8), (30, 50, 0.6)]  # after the alert rate's
    item = evidence(found, "realised_precision")
    assert (item.observed, item.reference, item.floor, item.p_value) == (0.6, 0.8, 0.1, JUST_BELOW)
    assert item.effect == pytest.approx(0.2)
    assert item.detail == f"realised precision 0.600 vs 0.800 out of fold, on 50 {FROM_REPORT}"


def test_realised_recall_fires_on_a_significant_fall_beyond_the_tolerance() -> None:
    found = judge(tests=StubTests(binomial=JUST_BELOW), quality=realised(40, 10, 60))  # recall 0.4
    assert found.fired() == ["realised_recall"]
    assert evidence(found, "realised_recall").detail == (
        f"realised recall 0.400 vs 0.600 out of fold, on 100 {FROM_REPORT}"
    )


@pytest.mark.parametrize(("p_value", "fired"), [(JUST_BELOW, True), (RISK_ALPHA, False), (JUST_ABOVE, False)])
def test_the_realised_fall_is_judged_at_the_risk_level(p_value: float, fired: bool) -> None:
    found = judge(tests=StubTests(binomial=p_value), quality=realised(30, 20, 20))
    assert evidence(found, "realised_precision").fired is fired


def test_the_realised_tolerance_is_exclusive() -> None:
    quality = realised(30, 20, 20)
    drop = REALISED_PRECISION - 30 / 50  # as the rule computes it

    def fired(tolerance: float) -> bool:
        policy = DriftPolicy(realised_tolerance=tolerance)
        found = judge(policy=policy, tests=StubTests(binomial=TINY), quality=quality)
        return evidence(found, "realised_precision").fired

    assert not fired(drop)
    assert fired(below(drop))


def test_a_small_or_upward_realised_change_is_not_evidence_however_significant() -> None:
    tests = StubTests(binomial=TINY)
    small = judge(tests=tests, quality=realised(36, 14, 20))  # precision 0.72: 0.08 below
    assert evidence(small, "realised_precision").effect == pytest.approx(0.08)
    upward = judge(tests=tests, quality=realised(45, 5, 5))  # precision 0.9, recall 0.9
    assert evidence(upward, "realised_recall").effect == pytest.approx(-0.3)
    assert small.fired() == upward.fired() == []


def test_too_few_labelled_frauds_decide_nothing_and_ask_for_no_test() -> None:
    quality = realised(30, 20, 20)  # 50 labelled frauds

    def found(min_labelled_frauds: int) -> tuple[Comparison, StubTests]:
        tests = StubTests(binomial=TINY)
        policy = DriftPolicy(min_labelled_frauds=min_labelled_frauds)
        return judge(policy=policy, tests=tests, quality=quality), tests

    enough, _ = found(50)  # the guard is inclusive
    assert enough.fired() == ["realised_precision"]
    too_few, tests = found(51)
    assert too_few.fired() == []
    assert len(tests.binomial_calls) == 1  # the alert rate's only
    item = evidence(too_few, "realised_precision")
    assert item.p_value is None
    assert item.effect == pytest.approx(0.2)  # reported all the same
    assert item.detail == (
        f"realised precision 0.600 vs 0.800 out of fold, on 50 {FROM_REPORT} "
        "(fewer than 51 labelled frauds: too few to decide)"
    )


def test_an_undefined_realised_figure_or_reference_figure_has_no_evidence() -> None:
    no_alerts = judge(quality=realised(0, 0, 30))  # no realised precision
    assert [n for n in names(no_alerts) if n.startswith("realised")] == ["realised_recall"]
    no_reference = judge(quality=realised(30, 20, 20), reference=small_reference(realised_recall=None))
    assert [n for n in names(no_reference) if n.startswith("realised")] == ["realised_precision"]
    assert [n for n in names(judge()) if n.startswith("realised")] == []  # no quality report at all


# the use case: what is published, the status and the reason


class Checks:
    """CheckDrift over the small reference with all 29 input columns (the captured rows' width)."""

    def __init__(self, tests: StubTests, quality: QualityReport | None = None, **changes: object) -> None:
        self.captured = FakeCapturedPredictions()
        self.profiles = FakeReferenceProfiles()
        self.reports = FakeReports()
        self.publisher = FakePublisher()
        self.check = CheckDrift(
            self.captured, self.profiles, self.reports, tests, FakeDriftChart(), self.publisher,
            DriftPolicy(min_rows=100), model_name="fraud-lgbm", latest_quality=lambda: quality,
        )  # fmt: skip
        self.profiles.save(small_reference(WIDTH, **changes))

    def run(self, inputs: np.ndarray, probabilities: np.ndarray) -> DriftOutcome:
        self.captured.rows = captured(inputs, probabilities, threshold=THRESHOLD)
        return self.check()


WIDTH = 29


def quality_of(*models: RealisedQuality) -> QualityReport:
    return QualityReport(NOW, QUALITY_WINDOW, models)


def test_input_drift_alone_is_reported_but_publishes_nothing() -> None:
    checks = Checks(StubTests(ks=TINY))
    inputs = quiet_inputs(columns=WIDTH)
    inputs[:, 0] += 2_000.0
    outcome = checks.run(inputs, BASELINE)
    report = outcome.report
    assert report.status == "input_drift"
    assert (report.input_drift, report.at_risk) == (True, False)
    assert report.drifted_inputs == ("c0",)
    assert report.fired_evidence == ()
    assert outcome.event is None
    assert checks.publisher.events == []
    assert report.reason.startswith("model not at risk (closest: ")
    assert report.reason.endswith(f"; input drift (diagnostic) in c0 (PSI {report.columns[0].psi:.3f})")


QUIET = quiet_inputs(columns=WIDTH)
AT_RISK = {
    "score_distribution": (StubTests(ks=TINY), {}, None, QUIET, shifted_scores()),
    "alert_rate": (StubTests(binomial=TINY), {}, None, QUIET, more_alerts(20)),
    "outlier_pattern": (
        StubTests(chi2=TINY),
        {"outliers": OutlierSignature((60.0,) + (5.0,) * (WIDTH - 1), 10, 2, 3)},  # shift 0.248
        None, outlying_inputs(WIDTH), BASELINE,
    ),
    "estimated_precision": (StubTests(), {}, None, QUIET, scores(10, 0.6, 9.0)),
    "estimated_recall": (StubTests(), {}, None, QUIET, scores(10, 0.8, 24.0)),
    "realised_precision": (StubTests(binomial=TINY), {}, realised(30, 20, 20), QUIET, BASELINE),
    "realised_recall": (StubTests(binomial=TINY), {}, realised(40, 10, 60), QUIET, BASELINE),
}  # fmt: skip


def fresh(tests: StubTests) -> StubTests:
    """A stub of its own for each run (stubs record their calls)."""
    return StubTests(tests.ks, tests.binomial, tests.chi2)


@pytest.mark.parametrize("name", list(AT_RISK))
def test_each_piece_of_evidence_alone_puts_the_model_at_risk_and_publishes(name: str) -> None:
    tests, changes, quality, inputs, probabilities = AT_RISK[name]
    checks = Checks(fresh(tests), quality_of(quality) if quality else None, **changes)
    outcome = checks.run(inputs, probabilities)
    report, event = outcome.report, outcome.event
    assert report.status == "model_at_risk", report.reason
    assert (report.at_risk, report.input_drift) == (True, False)
    assert report.fired_evidence == (name,)
    assert event is not None
    assert event.evidence == (name,)
    assert (event.model_name, event.version, event.report) == ("fraud-lgbm", 1, outcome.location)
    assert checks.publisher.events == [event]
    (fired,) = (item for item in report.evidence if item.fired)
    assert report.reason == f"model at risk: {fired.detail}; no input drift"
    assert event.reason == report.reason


def test_both_verdicts_at_once_publish_and_the_reason_names_both() -> None:
    checks = Checks(StubTests(ks=TINY, binomial=TINY), quality_of(realised(30, 20, 20)))
    inputs = quiet_inputs(columns=WIDTH)
    inputs[:, 2] += 2_000.0
    outcome = checks.run(inputs, BASELINE)
    report = outcome.report
    assert report.status == "model_at_risk"  # at risk wins the status; input drift stays in the report
    assert (report.at_risk, report.input_drift) == (True, True)
    assert report.fired_evidence == ("realised_precision",)
    assert outcome.event is not None
    assert outcome.event.evidence == ("realised_precision",)
    assert report.reason == (
        f"model at risk: realised precision 0.600 vs 0.800 out of fold, on 50 {FROM_REPORT}; "
        f"input drift (diagnostic) in c2 (PSI {report.columns[2].psi:.3f})"
    )
    assert report.to_dict()["fired_evidence"] == ["realised_precision"]
    assert report.to_dict()["drifted_inputs"] == ["c2"]


def test_several_pieces_of_evidence_are_all_named() -> None:
    checks = Checks(StubTests(binomial=TINY), quality_of(realised(30, 20, 60)))
    outcome = checks.run(QUIET, scores(10, 0.6, 9.0))
    assert outcome.report.fired_evidence == ("estimated_precision", "realised_precision", "realised_recall")
    assert outcome.event is not None
    assert outcome.event.evidence == outcome.report.fired_evidence
    assert outcome.report.reason == (
        "model at risk: estimated precision 0.600 vs 0.800 in the reference; "
        f"realised precision 0.600 vs 0.800 out of fold, on 50 {FROM_REPORT}; "
        f"realised recall 0.333 vs 0.600 out of fold, on 90 {FROM_REPORT}; no input drift"
    )


def test_only_the_serving_versions_realised_quality_counts() -> None:
    """The quality report's entry for another version is no evidence about this one."""
    checks = Checks(StubTests(binomial=TINY), quality_of(realised(30, 20, 20, version=2)))
    outcome = checks.run(QUIET, BASELINE)
    assert outcome.report.status == "no_drift"
    assert not [item for item in outcome.report.evidence if item.name.startswith("realised")]
    assert outcome.event is None


def test_a_quiet_window_is_no_drift_naming_the_closest_call() -> None:
    checks = Checks(StubTests(), quality_of(realised(36, 14, 20)))  # realised precision 0.72: 0.08 below
    outcome = checks.run(QUIET, BASELINE)
    report = outcome.report
    assert report.status == "no_drift"
    assert (report.at_risk, report.input_drift) == (False, False)
    assert report.reason == (
        "model not at risk (closest: realised precision 0.720 vs 0.800 out of fold, "
        f"on 50 {FROM_REPORT}, floor 0.1); no input drift"
    )
    assert outcome.event is None
    assert report.estimate is not None
    window = (report.estimate.rows, report.estimate.alerts, report.estimate.expected_true_positives)
    assert window == (
        REFERENCE_ESTIMATE.rows,
        REFERENCE_ESTIMATE.alerts,
        REFERENCE_ESTIMATE.expected_true_positives,
    )
    assert report.estimate.expected_frauds == pytest.approx(REFERENCE_ESTIMATE.expected_frauds)
    assert report.test_alpha == RISK_ALPHA


def test_the_report_keeps_evidence_and_estimate_through_json() -> None:
    checks = Checks(StubTests(binomial=JUST_BELOW), quality_of(realised(30, 20, 20)))
    report = checks.run(QUIET, scores(10, 0.6, 9.0)).report
    document = json.loads(json.dumps(report.to_dict()))
    assert [item["name"] for item in document["evidence"]] == [
        "score_distribution", "alert_rate", "estimated_precision", "estimated_recall",
        "realised_precision", "realised_recall",
    ]  # fmt: skip
    assert document["estimate"]["precision"] == pytest.approx(0.6)
    assert document["model_at_risk"] is True
    again = DriftReport.from_dict(document)
    assert again.evidence == report.evidence
    assert again.estimate == report.estimate
    assert again.fired_evidence == report.fired_evidence == ("estimated_precision", "realised_precision")
    assert isinstance(again.estimate, PerformanceEstimate)
