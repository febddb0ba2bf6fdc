"""When a window counts as drifted: the two verdicts' thresholds and levels (`DriftPolicy`), and why.

This module holds the policy only; `application/drift/compare.py` applies it (runs the tests, weighs each
piece of evidence against these floors and levels and returns the verdicts).

*Input drift* is a diagnostic. One KS test per input column (29), Bonferroni over them at `family_alpha`, and
a column also needs a PSI of at least `min_psi`: on a large window KS finds shifts too small to matter, and
PSI, unlike a p-value, does not grow with the window. It is reported, exported and alerted at low severity;
it never starts a retrain, because inputs move with the hour of day and with harmless shifts in the traffic
(on the shared real rows a 0.5 standard deviation shift of the model's three most important inputs moved the
realised recall by 0.02).

*Model at risk* publishes `DriftDetected` (retraining). Each piece of evidence needs a p-value below
`family_alpha / 7` (Bonferroni over the seven pieces) **and** an effect above a floor:

- score distribution: KS, and PSI >= `min_score_psi` (0.1, the conventional "moderate shift");
- alert rate: exact binomial test, and a change of at least `min_alert_rate_change` (25%) of the reference;
- outlier pattern (outliers.py): G-test, and the window's outlying cells spread over the columns differently
  from the reference's by a total variation distance >= `min_outlier_shift` (0.1);
- estimated precision or recall (estimate.py) below the reference's estimate by more than
  `precision_tolerance` (0.05) / `recall_tolerance` (0.02), over at least `min_expected_frauds` (10)
  expected frauds; its p-value is a one-sided z-test of the fall against both estimates' sampling errors;
- realised precision or recall (labelled rows of the serving version, `fraud quality measure`) below the
  reference's out-of-time figure by more than `realised_tolerance` (0.10), over at least `min_labelled_frauds`
  (20) labelled frauds, with a binomial p-value below the same level.

Floors chosen on the shared real rows (benchmarks/drift_real.py: a model trained on one hash half, 5,000-row
windows of the other, sampled across the whole two days). On unchanged windows the score PSI stayed below
0.006, the estimated recall within 0.012 of the reference's and the estimated precision within 0.02; a
held-out fraud pattern at 2% of the traffic, which cut the realised recall from 0.97 to 0.43, moved the
estimated recall by 0.03-0.13. The recall tolerance is so small because a pattern the model scores low only
shows in the estimate through the rows it half-recognises: the estimate under-reacts, so its floor sits just
above the unchanged windows' spread. Below `min_rows` captured rows there is no decision at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# score distribution, alert rate, outlier pattern, estimated and realised precision and recall
RISK_TESTS = 7


@dataclass(frozen=True)
class DriftPolicy:
    family_alpha: float = 0.01
    min_rows: int = 1_000
    min_psi: float = 0.05
    min_score_psi: float = 0.1
    min_alert_rate_change: float = 0.25
    min_outlier_shift: float = 0.1
    precision_tolerance: float = 0.05
    recall_tolerance: float = 0.02
    min_expected_frauds: float = 10.0
    realised_tolerance: float = 0.10
    min_labelled_frauds: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.family_alpha < 1:
            raise ValueError(f"family_alpha must be in (0, 1), got {self.family_alpha}")
        if self.min_rows < 2:
            raise ValueError(f"min_rows must be at least 2, got {self.min_rows}")
        floors = {
            "min_psi": self.min_psi,
            "min_score_psi": self.min_score_psi,
            "min_alert_rate_change": self.min_alert_rate_change,
            "min_outlier_shift": self.min_outlier_shift,
            "precision_tolerance": self.precision_tolerance,
            "recall_tolerance": self.recall_tolerance,
            "min_expected_frauds": self.min_expected_frauds,
            "realised_tolerance": self.realised_tolerance,
            "min_labelled_frauds": self.min_labelled_frauds,
        }
        negative = [name for name, value in floors.items() if value < 0]
        if negative:
            raise ValueError(f"{', '.join(negative)} must not be negative")

    def input_alpha(self, columns: int) -> float:
        """The per-column level of the input diagnostic: Bonferroni over the `columns` tested."""
        return self.family_alpha / columns

    @property
    def risk_alpha(self) -> float:
        """The per-test level of the model-at-risk evidence that has a p-value."""
        return self.family_alpha / RISK_TESTS

    def describe(self) -> str:
        return (
            f"model at risk: p < {self.risk_alpha:.2g} and score PSI >= {self.min_score_psi:g}, alert rate "
            f"change >= {self.min_alert_rate_change:.0%}, outlier shift >= {self.min_outlier_shift:g}; or "
            f"estimated precision/recall down > {self.precision_tolerance:g}/{self.recall_tolerance:g}; or "
            f"realised down > {self.realised_tolerance:g}. Input drift (diagnostic): PSI >= {self.min_psi:g} "
            f"and KS p below {self.family_alpha:g} / columns. At least {self.min_rows:,} rows"
        )
