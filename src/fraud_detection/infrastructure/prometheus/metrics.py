"""Metric definitions and the `ScoringTelemetry` adapter.

With several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR (`fraud serve --workers N` does) before this
module is imported: prometheus_client then keeps per-process files that `/metrics` aggregates.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.telemetry import ScoringTelemetry

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SCORE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0)

HTTP_REQUESTS = Counter(
    "fraud_http_requests", "HTTP requests by route, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "fraud_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "fraud_http_requests_in_flight", "HTTP requests being served.", multiprocess_mode="livesum"
)
PREDICTIONS = Counter("fraud_predictions", "Scored transactions by decision.", ["decision"])
SCORES = Histogram(
    "fraud_prediction_score", "Fraud probability of scored transactions.", buckets=SCORE_BUCKETS
)
MODEL_INFO = Gauge(
    "fraud_model_info",
    "The model being served (value 1).",
    ["name", "version", "source"],
    multiprocess_mode="liveall",
)
MODEL_CREATED = Gauge(
    "fraud_model_created_timestamp_seconds",
    "When the served version was registered.",
    multiprocess_mode="liveall",
)
MODEL_LOADS = Counter("fraud_model_loads", "Models loaded for serving, by source.", ["source"])
MODEL_LOAD_FAILURES = Counter("fraud_model_load_failures", "Failed attempts to load a model for serving.")


class PrometheusScoringTelemetry(ScoringTelemetry):
    def __init__(self) -> None:
        self._fraud, self._legit = PREDICTIONS.labels("fraud"), PREDICTIONS.labels("legit")

    def scores(self, probabilities: np.ndarray, decisions: np.ndarray) -> None:
        frauds = int(np.count_nonzero(decisions))
        if frauds:
            self._fraud.inc(frauds)
        if len(decisions) - frauds:
            self._legit.inc(len(decisions) - frauds)
        if len(probabilities) == 1:
            SCORES.observe(float(probabilities[0]))
        else:
            for probability in probabilities.tolist():
                SCORES.observe(probability)

    def model_loaded(self, version: ModelVersion, source: str) -> None:
        MODEL_INFO.clear()
        MODEL_INFO.labels(version.name, str(version.version), source).set(1)
        MODEL_LOADS.labels(source).inc()
        created = _unix_seconds(version.created_at)
        if created is not None:
            MODEL_CREATED.set(created)

    def model_load_failed(self, reason: str) -> None:
        MODEL_LOAD_FAILURES.inc()


def _unix_seconds(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None
