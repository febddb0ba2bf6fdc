"""When a window counts as drifted: the decision rule, stated once.

Each check runs one test per input column (29, KS), one on the score distribution (KS), one on the alert
rate (exact binomial) and one on the outlier pattern (G-test, see outliers.py): 32 tests. With Bonferroni,
each is judged at `family_alpha / 32`, so on a window with no drift the chance of any false alarm stays at
or below `family_alpha` (1% by default) however the tests correlate. A column also
needs a PSI of at least `min_psi` to count: on a large window KS finds shifts too small to matter, and PSI,
unlike a p-value, does not grow with the window. Below `min_rows` captured rows there is no decision at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriftPolicy:
    family_alpha: float = 0.01
    min_rows: int = 1_000
    min_psi: float = 0.02
    # The alert rate must also move by this share of its reference value (a 25% rise or fall).
    min_alert_rate_change: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.family_alpha < 1:
            raise ValueError(f"family_alpha must be in (0, 1), got {self.family_alpha}")
        if self.min_rows < 2:
            raise ValueError(f"min_rows must be at least 2, got {self.min_rows}")
        if self.min_psi < 0 or self.min_alert_rate_change < 0:
            raise ValueError("min_psi and min_alert_rate_change must not be negative")

    def test_alpha(self, tests: int) -> float:
        """The per-test level: Bonferroni over the `tests` run on one window."""
        return self.family_alpha / tests

    def describe(self) -> str:
        return (
            f"Bonferroni at family alpha {self.family_alpha:g} over every test of the window; a column also "
            f"needs PSI >= {self.min_psi:g}, the alert rate a change of at least "
            f"{self.min_alert_rate_change:.0%}; at least {self.min_rows:,} rows"
        )
