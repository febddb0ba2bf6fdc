"""Scoring at its edges: a scorer built without rollout scoring answers with the champion alone, even while
the holder it reads carries a rollout's challenger."""

from __future__ import annotations

import numpy as np

from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.domain.rollout import Stage
from tests.fakes import FakePredictionLog, RecordingTelemetry
from tests.unit.test_rollout_serving import Rig, captured


def test_a_scorer_without_rollout_scoring_serves_the_champion_alone_during_a_rollout():
    rig = Rig()
    rig.start(Stage.CANARY, 100.0)  # every row would be the challenger's, were the rollout scored
    assert rig.holder.snapshot.challenger is not None
    log, telemetry = FakePredictionLog(), RecordingTelemetry()
    score = ScoreTransactions(rig.holder, log, telemetry, top_reasons=3)
    inputs = np.zeros((2, 29))
    inputs[:, 13], inputs[:, 28] = [-5.0, 5.0], 10.0  # V14, Amount
    scored = score(inputs, np.full(2, np.nan), ["a", "b"], "r1")
    assert scored.challenger is None
    assert scored.decisions.tolist() == [True, False]  # the champion's answers (the challenger's differ)
    assert {tid: version for tid, (version, _) in captured(log).items()} == {"a": 1, "b": 1}
    assert telemetry.scored == 2
    assert rig.shadow_log.batches == []
