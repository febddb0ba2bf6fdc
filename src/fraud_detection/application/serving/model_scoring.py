"""Scoring one part of a request with one model, and capturing it: shared by the request path and the
shadow worker. `ChallengerChaos` makes a share of challenger scorings fail, or every one slow, on purpose
(game days, tests): the roll-back paths can then be seen working on real replicas."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

import numpy as np

from fraud_detection.application.serving.model_holder import ServingModel
from fraud_detection.domain.decision import flagged
from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog


class ChallengerChaosError(RuntimeError):
    """A challenger scoring failed on purpose (FRAUD_CHAOS_CHALLENGER_ERROR_RATE)."""


class ChallengerChaos:
    def __init__(
        self, error_rate: float = 0.0, draw: Callable[[], float] = random.random, delay_ms: float = 0.0
    ) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"the chaos error rate must be within 0..1, got {error_rate}")
        if not 0.0 <= delay_ms < math.inf:
            raise ValueError(f"the chaos delay must be a finite number of ms >= 0, got {delay_ms}")
        self.error_rate, self._draw = error_rate, draw
        self.delay = delay_ms / 1000.0  # seconds added to every challenger scoring, inside its timing

    def fails(self) -> bool:
        return self.error_rate > 0 and self._draw() < self.error_rate

    def strike(self) -> None:
        if self.fails():
            raise ChallengerChaosError(
                f"chaos: a challenger scoring failed on purpose (rate {self.error_rate})"
            )


def probabilities_of(serving: ServingModel, features: np.ndarray) -> np.ndarray:
    if len(features) == 1:  # the online case: the model's single-row fast path
        return np.array([serving.model.predict_row(features[0])])
    return serving.model.predict_matrix(features)


def timed_scores(
    serving: ServingModel, features: np.ndarray, delay: float = 0.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """Probabilities, decisions and the model time in seconds (`delay`: chaos, a slower model)."""
    start = time.perf_counter()
    if delay:
        time.sleep(delay)
    probabilities = probabilities_of(serving, features)
    decisions = flagged(probabilities, serving.threshold)
    return probabilities, decisions, time.perf_counter() - start


def capture(
    log: PredictionLog,
    serving: ServingModel,
    inputs: np.ndarray,
    times: np.ndarray,
    transaction_ids: Sequence[str | None],
    probabilities: np.ndarray,
    decisions: np.ndarray,
    request_id: str | tuple[str, ...],  # one per row when the rows came from several requests
    seconds: float = math.nan,  # the model call's time (timed_scores), NaN when not measured
) -> None:
    version = serving.version
    log.append(
        PredictionBatch(inputs, times, tuple(transaction_ids), probabilities, decisions, version.name,
                        version.version, request_id, time.time(), model_ms(seconds, len(probabilities)))
    )  # fmt: skip


def model_ms(seconds: float, rows: int) -> float:
    """The call's time in ms when it scored one row (the online case), else NaN. What the rollout compares
    between the models, so only like with like: a call's time per row falls with its size (fixed overhead,
    then threads: 7.6 us a row for 4 rows, 2.9 us for 36 with the benchmark's model), so a canary answering 4
    rows of a 40-row request would look twice as slow per row as the same model answering the other 36."""
    return seconds * 1000.0 if rows == 1 else math.nan


def capture_failed(
    log: PredictionLog,
    serving: ServingModel,
    inputs: np.ndarray,
    times: np.ndarray,
    transaction_ids: Sequence[str | None],
    request_id: str,
) -> None:
    """A scoring that failed or was dropped: probability NaN, decision False (SHADOW_CAPTURE_PREFIX)."""
    rows = len(inputs)
    capture(
        log, serving, inputs, times, transaction_ids, np.full(rows, np.nan), np.zeros(rows, bool), request_id
    )
