"""The decision rule every consumer shares: a score exactly at the threshold is an alert."""

from __future__ import annotations

import numpy as np

from fraud_detection.domain.decision import alert_count, flagged


def test_a_score_at_the_threshold_is_flagged() -> None:
    scores = np.array([0.1, 0.5, 0.50000001, 0.49999999])
    assert flagged(scores, 0.5).tolist() == [False, True, True, False]
    assert alert_count(scores, 0.5) == 2
    assert alert_count([], 0.5) == 0
