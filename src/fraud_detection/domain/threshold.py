"""The decision threshold rule: minimise expected cost on validation data.

Cost of a threshold t = amounts of the frauds scored below t (lost money) + review_cost x alerts at or
above t (analyst time). Fraud loss is the transaction amount, as the ULB handbook suggests; the review cost
is a setting (`FRAUD_REVIEW_COST`, euros per alert).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    cost: float
    alerts: int
    rule: str


def choose_threshold(
    labels: np.ndarray, scores: np.ndarray, amounts: np.ndarray, review_cost: float
) -> ThresholdChoice:
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    amounts = np.asarray(amounts, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    caught_amount = np.cumsum(labels[order] * amounts[order])
    # Only cut between distinct scores: all rows sharing a score are flagged together.
    cut = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    total_loss = float((labels * amounts).sum())
    costs = (total_loss - caught_amount[cut]) + review_cost * (cut + 1)
    best = int(np.argmin(costs))
    rule = f"min expected cost: missed fraud Amount + {review_cost:g} per alert"
    if total_loss <= costs[best]:  # flagging nothing is cheapest: raise no alerts
        return ThresholdChoice(float(np.nextafter(sorted_scores[0], np.inf)), total_loss, 0, rule)
    return ThresholdChoice(float(sorted_scores[cut[best]]), float(costs[best]), int(cut[best] + 1), rule)
