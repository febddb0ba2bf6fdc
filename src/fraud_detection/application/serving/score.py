"""Score transactions with the served model: probability, decision at the model's threshold, reasons.

Reasons (the largest per-feature contributions, LightGBM's TreeSHAP) cost ~190 us per row against ~25 us for
the probability, so they are computed for every alert (decision fraud) and for other rows only on request.

While a rollout is active (see rollout_scoring.py) the challenger scores the same rows in the dark (shadow)
or answers a stable share of transactions (canary); without one this is the only path and its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fraud_detection.application.serving.model_holder import ModelHolder, ServingModel
from fraud_detection.application.serving.model_scoring import capture, timed_scores
from fraud_detection.domain.features import feature_matrix
from fraud_detection.domain.ports.prediction_log import PredictionLog
from fraud_detection.domain.ports.telemetry import ScoringTelemetry

if TYPE_CHECKING:
    from fraud_detection.application.serving.rollout_scoring import RolloutScoring

Reasons = list[tuple[str, float]]


@dataclass(frozen=True)
class ScoredTransactions:
    serving: ServingModel  # the champion: the batch response's model and threshold
    probabilities: np.ndarray
    decisions: np.ndarray  # True = fraud
    reasons: dict[int, Reasons]  # row index -> top contributions, for the rows explained
    challenger: ServingModel | None = None  # set when the canary answered some rows
    routed: np.ndarray | None = None  # (n,) bool: rows the challenger answered; None: all of them

    def answered(self, row: int) -> ServingModel:
        """The model whose answer row `row` got."""
        if self.challenger is not None and (self.routed is None or self.routed[row]):
            return self.challenger
        return self.serving


class ScoreTransactions:
    def __init__(
        self,
        holder: ModelHolder,
        log: PredictionLog,
        telemetry: ScoringTelemetry,
        top_reasons: int = 5,
        rollout: RolloutScoring | None = None,
    ) -> None:
        self._holder, self._log, self._telemetry, self._top = holder, log, telemetry, top_reasons
        self._rollout = rollout

    def __call__(
        self,
        inputs: np.ndarray,
        times: np.ndarray,
        transaction_ids: Sequence[str | None],
        request_id: str,
        explain: bool = False,
    ) -> ScoredTransactions:
        """`inputs`: (n, 29) V1..V28, Amount. Raises ModelNotReadyError when nothing is loaded."""
        snapshot = self._holder.snapshot  # read once: the whole request uses these models
        serving = snapshot.require()
        features = feature_matrix(inputs)
        if snapshot.rollout is not None and snapshot.challenger is not None and self._rollout is not None:
            return self._rollout(snapshot.rollout, serving, snapshot.challenger, features, inputs, times,
                                 tuple(transaction_ids), request_id, explain, self)  # fmt: skip
        probabilities, decisions, seconds = timed_scores(serving, features)
        explained = np.arange(len(probabilities)) if explain else np.flatnonzero(decisions)
        reasons = self.reasons(serving, features, explained) if explained.size else {}
        capture(
            self._log, serving, inputs, times, transaction_ids, probabilities, decisions, request_id, seconds
        )
        self._telemetry.scores(probabilities, decisions)
        return ScoredTransactions(serving, probabilities, decisions, reasons)

    def dark_work(self) -> Callable[[], object] | None:
        """What to run once the response is sent: the dark scorings this request queued (None when there
        are none). See shadow.py for why after the response and not on a thread of their own."""
        rollout = self._rollout
        if rollout is None or not rollout.shadow.pending():
            return None
        return rollout.shadow.drain

    @property
    def log(self) -> PredictionLog:
        return self._log

    @property
    def telemetry(self) -> ScoringTelemetry:
        return self._telemetry

    def reasons(self, serving: ServingModel, features: np.ndarray, rows: np.ndarray) -> dict[int, Reasons]:
        """Top contributions of `serving` for `rows` (indices into `features`), keyed by row index."""
        contributions = serving.model.contributions_matrix(features[rows])[:, :-1]  # drop the bias column
        names = serving.model.feature_names
        top = np.argsort(-np.abs(contributions), axis=1)[:, : self._top]
        return {
            int(row): [(names[j], float(contributions[i, j])) for j in top[i]] for i, row in enumerate(rows)
        }
