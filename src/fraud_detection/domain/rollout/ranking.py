"""Promotion needs positive evidence that the challenger ranks frauds no worse than the champion.

Why a check beyond the realised ones: those judge each model's decisions at its own threshold, and pass when
no harm is shown, which on a few dozen labelled frauds is not evidence of no harm. A challenger that ranks
worse can sit within every tolerance at its threshold: benchmarks/rollout.py promoted 2 of 20 challengers
trained on a broken extract (AUPRC 0.843 and 0.825 against the champion's 0.867). So promotion also asks for a
non-inferiority result on the same labelled transactions, one that does not depend on where either threshold
sits:

- each labelled fraud's rank under each model, as the alert rate at which that model would flag it: the share
  of the transactions both scored that it scores at least as high (taken over every paired transaction,
  labelled or not, so the quantiles are sure and only the frauds are a sample);
- per fraud, the recall each model would get averaged over the alert budgets the policy accepts, from
  (1 - t) to (1 + t) times the champion's alert rate (t: the alert-rate tolerance). A fraud ranked within the
  smaller budget counts 1, beyond the larger 0, in between in proportion; its difference (challenger minus
  champion) is in [-1, 1] and most are 0 (both catch it, or neither);
- the mean of the paired differences with a normal interval (z, sd / sqrt(frauds)): frauds are independent
  draws, the policy's `min_frauds` keeps the count where the mean is near normal, and pairing removes what
  both models agree on, most of the variance.

Promotion requires the interval's lower end at or above -margin; its upper end below -margin rolls back; in
between holds for more labels. Why averaged over budgets and not "caught at the champion's budget" (the paired
counts of the realised checks): a fraud just past the budget counts almost as caught, so the few discordant
frauds are not all the evidence; on the real rows the binary count could not tell a broken-extract challenger
from a retrain after 50 frauds. Why not cost at the served thresholds: one broken challenger cost less than
the champion. Measured (benchmarks/rollout.py, seeds 0-39, margin 0.05): broken-extract challengers promoted 3
of 40 -> 0; retrains promoted 15 -> 15, after the same labels (median 2,009 / 51 frauds). The margin is a fall
of recall one accepts, not a test of "better": a challenger 2 points behind is within 0.05 and, given enough
frauds, is promoted (one broken challenger, 2 points behind over the whole day, held at a lower end of -0.052
after 94 frauds; a margin of 0.06 promoted it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def budget_recall(alert_rate: float, low: float, high: float) -> float:
    """Recall of one fraud flagged from `alert_rate` on, averaged over budgets uniform in [low, high]."""
    if alert_rate <= low:
        return 1.0
    if alert_rate >= high:
        return 0.0
    return (high - alert_rate) / (high - low)


def ranking_difference(
    fraud_alert_rates: Sequence[tuple[float, float]], low: float, high: float, z: float
) -> tuple[float, float, float] | None:
    """Challenger minus champion recall averaged over the budgets [low, high], with its interval; None with
    fewer than two frauds. `fraud_alert_rates`: per labelled fraud, (challenger, champion) alert rate at which
    it is flagged."""
    n = len(fraud_alert_rates)
    if n < 2 or not 0 <= low < high:
        return None
    differences = [
        budget_recall(mine, low, high) - budget_recall(theirs, low, high)
        for mine, theirs in fraud_alert_rates
    ]
    mean = sum(differences) / n
    variance = sum((d - mean) ** 2 for d in differences) / (n - 1)
    spread = z * math.sqrt(variance / n)
    return mean, mean - spread, mean + spread
