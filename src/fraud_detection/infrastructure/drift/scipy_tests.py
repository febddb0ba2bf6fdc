"""p-values from scipy: the exact one-sample KS distribution and the exact binomial test."""

from __future__ import annotations

from scipy import stats

from fraud_detection.domain.ports.drift import DistributionTests


class ScipyDistributionTests(DistributionTests):
    def ks_p_value(self, statistic: float, rows: int) -> float:
        return float(stats.kstwo.sf(statistic, rows))

    def binomial_p_value(self, successes: int, trials: int, probability: float) -> float:
        return float(stats.binomtest(successes, trials, probability).pvalue)

    def chi2_p_value(self, statistic: float, degrees_of_freedom: int) -> float:
        return float(stats.chi2.sf(statistic, degrees_of_freedom))
