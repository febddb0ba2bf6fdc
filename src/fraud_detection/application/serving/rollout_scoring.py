"""Scoring while a rollout is active.

SHADOW: the champion answers, as without a rollout; the challenger scores the same rows in the dark.
CANARY(p%): each row is routed by a stable hash of its transaction id (the client-scoped id, or
`<request id>/<row>` without one), so a retried transaction meets the same model on every replica. Routed
rows get the challenger's answer, computed on the request path; if it raises they fall back to the champion's
answer (counted, and captured in the shadow log as NaN). On a share of requests (`canary_dark_share`) the
model that did not answer scores the rows in the dark, so both models' scores are paired on that share: on
every request, as first built, a 10% canary cost more than shadow (benchmarks/serve.py --rollout); the
canary's own checks (its served rows, the error and alert rates) need no pairs, and labels are paired over
the whole rollout, shadow included. Served rows go to the main capture log with the version that answered,
dark ones to the shadow log.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Literal

import numpy as np

from fraud_detection.application.serving.model_holder import ServingModel
from fraud_detection.application.serving.model_scoring import (
    ChallengerChaos,
    capture,
    capture_failed,
    timed_scores,
)
from fraud_detection.application.serving.rollout_stats import RolloutRecorder
from fraud_detection.application.serving.score import Reasons, ScoredTransactions
from fraud_detection.application.serving.shadow import DarkJob, ShadowScorer
from fraud_detection.domain.rollout import CanaryRouter, Role, Rollout, Stage

if TYPE_CHECKING:
    from fraud_detection.application.serving.score import ScoreTransactions

logger = logging.getLogger(__name__)


class _Rows(Enum):
    ALL = "all"  # _canary_rows: the canary answers every row of the request


ALL_ROWS = _Rows.ALL


class RolloutScoring:
    def __init__(
        self,
        shadow: ShadowScorer,
        recorder: RolloutRecorder,
        chaos: ChallengerChaos | None = None,
        shadow_share: float = 1.0,
        draw: Callable[[], float] = random.random,
        canary_dark_share: float = 1.0,
    ) -> None:
        for name, share in (("shadow share", shadow_share), ("canary dark share", canary_dark_share)):
            if not 0.0 < share <= 1.0:
                raise ValueError(f"the {name} must be within (0, 1], got {share}")
        self.shadow, self.recorder, self._chaos = shadow, recorder, chaos or ChallengerChaos()
        self._shares = {Stage.SHADOW: shadow_share, Stage.CANARY: canary_dark_share}
        self._draw = draw
        self._router: tuple[Rollout, CanaryRouter] | None = None  # the last rollout's (rebuilt on a change)

    def __call__(
        self,
        rollout: Rollout,
        champion: ServingModel,
        challenger: ServingModel,
        features: np.ndarray,
        inputs: np.ndarray,
        times: np.ndarray,
        ids: tuple[str | None, ...],
        request_id: str,
        explain: bool,
        scorer: ScoreTransactions,
    ) -> ScoredTransactions:
        n, paired = len(features), self._paired(rollout.stage)
        routed = self._canary_rows(rollout, ids, request_id) if rollout.stage is Stage.CANARY else None
        if routed is ALL_ROWS:  # the canary owns the request (e.g. one routed transaction)
            part = self._canary_scores(challenger, features, inputs, times, ids, request_id)
            if part is not None:
                return self._one_model_answers(Role.CANARY, challenger, champion, part, features, inputs,
                                               times, ids, request_id, explain, scorer, paired)  # fmt: skip
            routed, paired = None, False  # it failed: the champion answers, and there is nothing to pair
        if routed is None:  # shadow, or no canary row: the champion answers everything
            part = timed_scores(champion, features)
            return self._one_model_answers(Role.CHAMPION, champion, challenger, part, features, inputs, times,
                                           ids, request_id, explain, scorer, paired)  # fmt: skip
        probabilities, decisions = np.empty(n), np.zeros(n, bool)
        reasons: dict[int, Reasons] = {}
        dark_champion = routed.copy()  # rows the champion scores in the dark: those the canary answers
        answered = np.zeros(n, bool)
        rows = np.flatnonzero(routed)
        canary = self._canary_scores(challenger, _take(features, rows), _take(inputs, rows),
                                     _take(times, rows), _pick(ids, rows), request_id)  # fmt: skip
        if canary is None:
            dark_champion[:] = False
        else:
            answered[rows] = True
            self._serve(Role.CANARY, challenger, rows, canary, probabilities, decisions, reasons, explain,
                        features, inputs, times, ids, request_id, scorer)  # fmt: skip
        rows = np.flatnonzero(~answered)
        if rows.size:
            part = timed_scores(champion, _take(features, rows))
            self._serve(Role.CHAMPION, champion, rows, part, probabilities, decisions, reasons, explain,
                        features, inputs, times, ids, request_id, scorer)  # fmt: skip
        scorer.telemetry.scores(probabilities, decisions)
        if paired:
            now = self.shadow.clock()
            for serving, dark in ((challenger, ~routed), (champion, dark_champion)):
                rows = np.flatnonzero(dark)
                if rows.size:
                    self.shadow.submit(DarkJob(serving, serving is challenger, _take(features, rows),
                                               _take(inputs, rows), _take(times, rows), _pick(ids, rows),
                                               request_id, now))  # fmt: skip
        return ScoredTransactions(champion, probabilities, decisions, reasons,
                                  challenger if answered.any() else None, answered)  # fmt: skip

    def _canary_scores(
        self,
        challenger: ServingModel,
        features: np.ndarray,
        inputs: np.ndarray,
        times: np.ndarray,
        ids: tuple[str | None, ...],
        request_id: str,
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The canary's scores for its rows, or None when it failed: then the champion answers them, and the
        failure is evidence (counted, captured in the shadow log as NaN)."""
        try:
            self._chaos.strike()
            return timed_scores(challenger, features, self._chaos.delay)
        except Exception as error:
            version = challenger.version.version
            logger.warning("canary v%d failed, the champion answers: %s: %s", version,
                           type(error).__name__, error)  # fmt: skip
            self.recorder.errors(Role.CANARY, version, len(features))
            capture_failed(self.shadow.log, challenger, inputs, times, ids, request_id)
            return None

    def _one_model_answers(
        self,
        role: Role,
        answering: ServingModel,
        other: ServingModel,
        part: tuple[np.ndarray, np.ndarray, float],
        features: np.ndarray,
        inputs: np.ndarray,
        times: np.ndarray,
        ids: tuple[str | None, ...],
        request_id: str,
        explain: bool,
        scorer: ScoreTransactions,
        paired: bool,
    ) -> ScoredTransactions:
        """One model answers every row (`part`: its scores), the other's dark job if `paired`: the champion
        in shadow and for requests without a canary row (as without a rollout), the canary for a request
        whose every row it owns. No row masks: under load each array call on the request path cost several
        times its in-process time (benchmarks/serve.py --rollout)."""
        probabilities, decisions, seconds = part
        explained = np.arange(len(probabilities)) if explain else np.flatnonzero(decisions)
        reasons = scorer.reasons(answering, features, explained) if explained.size else {}
        capture(scorer.log, answering, inputs, times, ids, probabilities, decisions, request_id, seconds)
        scorer.telemetry.scores(probabilities, decisions)
        alerts = int(decisions[0]) if len(decisions) == 1 else int(np.count_nonzero(decisions))
        self.recorder.scored(role, answering.version.version, len(probabilities), alerts, seconds)
        canary = role is Role.CANARY
        if paired:
            self.shadow.submit(DarkJob(other, not canary, features, inputs, times, ids, request_id,
                                       self.shadow.clock()))  # fmt: skip
        if canary:  # no `routed` mask: the canary answered every row
            return ScoredTransactions(other, probabilities, decisions, reasons, answering)
        return ScoredTransactions(answering, probabilities, decisions, reasons)

    def _paired(self, stage: Stage) -> bool:
        """Whether this request's rows are also scored by the model that did not answer."""
        share = self._shares.get(stage, 1.0)
        return share >= 1.0 or self._draw() < share

    @staticmethod
    def routing(
        rollout: Rollout, ids: tuple[str | None, ...], request_id: str, router: CanaryRouter | None = None
    ) -> np.ndarray:
        """Rows the canary answers."""
        routes = router or canary_router(rollout)
        keys = (_key(tid, request_id, row) for row, tid in enumerate(ids))
        return np.fromiter((routes(key) for key in keys), bool, len(ids))

    def _canary_rows(
        self, rollout: Rollout, ids: tuple[str | None, ...], request_id: str
    ) -> np.ndarray | Literal[_Rows.ALL] | None:
        """Rows the canary answers: a mask, ALL_ROWS, or None for none. A single row (the online case) is
        routed without numpy: in `fraud serve` under load, `routing` and `any()` on a one-row array cost
        ~17 us a request (benchmarks/serve.py --rollout), many times the hash itself."""
        routes = self._router
        if routes is None or routes[0] is not rollout:  # a new rollout object: once per state change
            routes = self._router = (rollout, canary_router(rollout))
        if len(ids) == 1:
            return ALL_ROWS if routes[1](_key(ids[0], request_id, 0)) else None
        mask = self.routing(rollout, ids, request_id, routes[1])
        return ALL_ROWS if mask.all() else mask if mask.any() else None

    def _serve(
        self,
        role: Role,
        serving: ServingModel,
        rows: np.ndarray,
        part: tuple[np.ndarray, np.ndarray, float],
        probabilities: np.ndarray,
        decisions: np.ndarray,
        reasons: dict[int, Reasons],
        explain: bool,
        features: np.ndarray,
        inputs: np.ndarray,
        times: np.ndarray,
        ids: tuple[str | None, ...],
        request_id: str,
        scorer: ScoreTransactions,
    ) -> None:
        """Put one model's answer for `rows` into the response, explain it, capture it, count it."""
        scores, alerts, seconds = part
        probabilities[rows], decisions[rows] = scores, alerts
        explained = rows if explain else rows[alerts]
        if explained.size:
            reasons.update(scorer.reasons(serving, features, explained))
        capture(scorer.log, serving, _take(inputs, rows), _take(times, rows), _pick(ids, rows), scores,
                alerts, request_id, seconds)  # fmt: skip
        self.recorder.scored(role, serving.version.version, rows.size, int(alerts.sum()), seconds)


def canary_router(rollout: Rollout) -> CanaryRouter:
    """The rollout's share, salted by the model and challenger: the share is reshuffled between rollouts
    (routes_to_challenger)."""
    return CanaryRouter(rollout.canary_percent, f"{rollout.model_name}:{rollout.challenger}")


def _key(transaction_id: str | None, request_id: str, row: int) -> str:
    """What a row is routed by: its client-scoped transaction id, else its request and position."""
    return f"{request_id}/{row}" if transaction_id is None else transaction_id


def _take(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return array if rows.size == len(array) else array[rows]


def _pick(ids: tuple[str | None, ...], rows: np.ndarray) -> tuple[str | None, ...]:
    return ids if rows.size == len(ids) else tuple(ids[i] for i in rows.tolist())
