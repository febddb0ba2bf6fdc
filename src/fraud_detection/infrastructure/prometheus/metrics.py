"""Metric definitions and the `ScoringTelemetry` adapter.

With several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR (`fraud serve --workers N` does) before this
module is imported: prometheus_client then keeps per-process files that `/metrics` aggregates.
"""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.telemetry import ScoringTelemetry
from fraud_detection.infrastructure.local.feedback.indexing_log import DROPPED_AT_CLOSE, DROPPED_OVER_BOUND

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

# Prediction capture (infrastructure/arrow/prediction_log): what reached the store, what waits, what was lost.
CAPTURE_ROWS_WRITTEN = Counter(
    "fraud_capture_rows_written", "Captured predictions the object store took (resent spill files included)."
)
CAPTURE_WRITE_FAILURES = Counter(
    "fraud_capture_write_failures", "Writes of captured predictions the object store refused."
)
CAPTURE_ROWS_SPILLED = Counter(
    "fraud_capture_rows_spilled", "Captured predictions kept on local disk because the object store failed."
)
CAPTURE_ROWS_DROPPED = Counter(
    "fraud_capture_rows_dropped",
    "Captured predictions lost: queue over its bound with the spill full, unwritable, or unwritten at stop.",
)
CAPTURE_JOURNAL_FAILURES = Counter(
    "fraud_capture_journal_failures",
    "Journal chunks of captured predictions that could not be written (spill folder's disk full or failing).",
)
CAPTURE_PENDING_ROWS = Gauge(
    "fraud_capture_pending_rows", "Captured predictions queued in memory.", multiprocess_mode="livesum"
)
CAPTURE_PENDING_BYTES = Gauge(
    "fraud_capture_pending_bytes",
    "Bytes of the captured predictions queued in memory.",
    multiprocess_mode="livesum",
)
CAPTURE_PENDING_MAX_BYTES = Gauge(
    "fraud_capture_pending_max_bytes",
    "Bound of the capture queue in memory (FRAUD_CAPTURE_MAX_PENDING_BYTES); older rows dropped beyond.",
    multiprocess_mode="livesum",
)
# Each worker process has its own queue and bound: the sums above hide one full worker among idle ones (one
# of 4 at 95% read 24%), so the backlog alert reads the fullest process's own share.
CAPTURE_PENDING_FILL = Gauge(
    "fraud_capture_pending_fill_ratio",
    "Share of its FRAUD_CAPTURE_MAX_PENDING_BYTES this process's capture queue holds (the fullest process).",
    multiprocess_mode="livemax",
)
CAPTURE_SPILL_FILES = Gauge(
    "fraud_capture_spill_files",
    "Capture files on local disk waiting for the object store.",
    multiprocess_mode="livemax",
)
CAPTURE_SPILL_BYTES = Gauge(
    "fraud_capture_spill_bytes",
    "Bytes of capture files on local disk waiting for the object store.",
    multiprocess_mode="livemax",
)

# Feedback index (infrastructure/local/feedback/indexing_log.py): scored transaction ids recorded in the
# feedback store off the request path, so labels can be matched with the decision served. An id dropped or
# lost makes its label come back `unknown`.
FEEDBACK_DROP_REASONS = (DROPPED_OVER_BOUND, DROPPED_AT_CLOSE)  # the index's own names, created at 0
FEEDBACK_IDS_RECORDED = Counter(
    "fraud_feedback_ids_recorded", "Scored transaction ids the feedback store took (for labels to match)."
)
FEEDBACK_INDEX_FAILURES = Counter(
    "fraud_feedback_index_failures",
    "Calls recording scored transaction ids that the feedback store (Redis, SQLite) refused; ids retried.",
)
FEEDBACK_IDS_DROPPED = Counter(
    "fraud_feedback_ids_dropped",
    "Scored transaction ids never recorded (their labels will be unknown), by reason: over_bound (more than "
    "the index's bound waiting), at_close (unrecorded when the process stopped).",
    ["reason"],
)
FEEDBACK_IDS_PENDING = Gauge(
    "fraud_feedback_ids_pending",
    "Scored transaction ids waiting to be recorded in the feedback store.",
    multiprocess_mode="livesum",
)


# Staged promotion (application/serving/rollout_scoring.py). role: champion (served by the champion), canary
# (served by the challenger), shadow (scored in the dark; `version` says by which model).
ROLLOUT_ROLES = ("champion", "shadow", "canary")
ROLLOUT_STAGES = ("none", "shadow", "canary")
ROLLOUT_SCORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
ROLLOUT_SCORED_ROWS = Counter(
    "fraud_rollout_scored_rows", "Rows scored during a rollout, served or in the dark.", ["role", "version"]
)
ROLLOUT_ALERTS = Counter(
    "fraud_rollout_alerts",
    "Alerts (decision fraud) among the rows scored during a rollout.",
    ["role", "version"],
)
ROLLOUT_ERRORS = Counter(
    "fraud_rollout_errors",
    "Challenger scorings (rows) that failed, ran over the shadow budget or found the shadow queue full.",
    ["role", "version"],
)
ROLLOUT_SHADOW_DROPPED = Counter(
    "fraud_rollout_shadow_dropped", "Rows whose dark scoring was dropped, by reason.", ["reason"]
)
ROLLOUT_SCORE_SECONDS = Histogram(
    "fraud_rollout_score_seconds",
    "Model time of one request part during a rollout, by role.",
    ["role"],
    buckets=ROLLOUT_SCORE_BUCKETS,
)
ROLLOUT_STAGE = Gauge(
    "fraud_rollout_stage",
    "1 for this process's view of the rollout stage, 0 for the others.",
    ["stage"],
    multiprocess_mode="livemax",
)
ROLLOUT_CANARY_PERCENT = Gauge(
    "fraud_rollout_canary_percent", "Canary share in percent (0 outside canary).", multiprocess_mode="livemax"
)
ROLLOUT_CHALLENGER_VERSION = Gauge(
    "fraud_rollout_challenger_version",
    "The challenger version loaded (0 when none).",
    multiprocess_mode="livemax",
)
# The challenger of an active rollout as a label, for the roll-back alerts to keep to its series: the counters
# outlive a rollout by their windows (an ended one fired on for an hour), and in canary the champion's dark
# scorings count under role "shadow" with the champion's version.
ROLLOUT_CHALLENGER = Gauge(
    "fraud_rollout_challenger",
    "1 for the challenger version of this process's active rollout, 0 once it is not.",
    ["version"],
    multiprocess_mode="livemax",
)
ROLLOUT_STARTED = Gauge(
    "fraud_rollout_started_timestamp_seconds",
    "When this process's active rollout started (Unix seconds; 0 without one): the roll-back alerts judge "
    "only windows that lie within it.",
    multiprocess_mode="livemax",
)
ROLLOUT_FAILURES = Counter(
    "fraud_rollout_failures",
    "Reading the rollout state (what=read) or loading its challenger (what=load) failed; serving went on.",
    ["what"],
)
# Series that exist from the start at 0 (a counter born at its first increment hides it from `increase()`).
for _reason in ("queue_full", "over_budget"):
    ROLLOUT_SHADOW_DROPPED.labels(reason=_reason)
for _what in ("read", "load"):
    ROLLOUT_FAILURES.labels(what=_what)
for _stage in ROLLOUT_STAGES:
    ROLLOUT_STAGE.labels(stage=_stage)
for _reason in FEEDBACK_DROP_REASONS:
    FEEDBACK_IDS_DROPPED.labels(reason=_reason)


class PrometheusScoringTelemetry(ScoringTelemetry):
    def __init__(self) -> None:
        self._fraud, self._legit = PREDICTIONS.labels("fraud"), PREDICTIONS.labels("legit")
        self._seconds = {role: ROLLOUT_SCORE_SECONDS.labels(role) for role in ROLLOUT_ROLES}
        self._scored: dict[tuple[str, int], tuple[Counter, Counter]] = {}  # label lookups cost ~3 us each
        self._served: tuple[str, str, str] | None = None  # fraud_model_info's labels now at 1
        self._challenger: str | None = None  # fraud_rollout_challenger's version now at 1

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
        served = (version.name, str(version.version), source)
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            MODEL_INFO.clear()
        elif self._served is not None and self._served != served:
            # Its value lives in this worker's file, which prometheus_client can neither clear nor remove
            # from (it warns, and the old version kept reading 1 beside the new one): 0, and readers keep
            # `== 1` (observability/).
            MODEL_INFO.labels(*self._served).set(0)
        MODEL_INFO.labels(*served).set(1)
        self._served = served
        MODEL_LOADS.labels(source).inc()
        created = _unix_seconds(version.created_at)
        if created is not None:
            MODEL_CREATED.set(created)

    def model_load_failed(self, reason: str) -> None:
        MODEL_LOAD_FAILURES.inc()

    def rollout_state(
        self, stage: str, percent: float, challenger: int | None, started_at: float | None = None
    ) -> None:
        for name in ROLLOUT_STAGES:
            ROLLOUT_STAGE.labels(name).set(1 if name == stage else 0)
        ROLLOUT_CANARY_PERCENT.set(percent)
        ROLLOUT_CHALLENGER_VERSION.set(challenger or 0)
        active = str(challenger) if challenger and stage in ("shadow", "canary") else None
        if self._challenger is not None and self._challenger != active:
            ROLLOUT_CHALLENGER.labels(self._challenger).set(0)  # 0, not removed: see model_loaded
        if active is not None:
            ROLLOUT_CHALLENGER.labels(active).set(1)
        self._challenger = active
        ROLLOUT_STARTED.set(started_at if active is not None and started_at is not None else 0)

    def rollout_scored(self, role: str, version: int, rows: int, alerts: int, seconds: float) -> None:
        children = self._scored.get((role, version))
        if children is None:  # first rows of this role and version: its series, alerts at 0 included
            label = str(version)
            if role != "champion":  # the error series exists at 0 beside every challenger's rows
                ROLLOUT_ERRORS.labels(role, label)
            children = ROLLOUT_SCORED_ROWS.labels(role, label), ROLLOUT_ALERTS.labels(role, label)
            self._scored[(role, version)] = children
        children[0].inc(rows)
        if alerts:
            children[1].inc(alerts)
        (self._seconds.get(role) or ROLLOUT_SCORE_SECONDS.labels(role)).observe(seconds)

    def rollout_errors(self, role: str, version: int, rows: int) -> None:
        ROLLOUT_ERRORS.labels(role, str(version)).inc(rows)

    def shadow_dropped(self, reason: str, rows: int) -> None:
        ROLLOUT_SHADOW_DROPPED.labels(reason).inc(rows)

    def rollout_failed(self, what: str) -> None:
        ROLLOUT_FAILURES.labels(what).inc()


class PrometheusCaptureTelemetry:
    """The prediction log's counters (infrastructure/arrow/prediction_log/telemetry.py's CaptureTelemetry)."""

    def rows_written(self, rows: int) -> None:
        CAPTURE_ROWS_WRITTEN.inc(rows)

    def write_failed(self) -> None:
        CAPTURE_WRITE_FAILURES.inc()

    def rows_spilled(self, rows: int) -> None:
        CAPTURE_ROWS_SPILLED.inc(rows)

    def rows_dropped(self, rows: int) -> None:
        CAPTURE_ROWS_DROPPED.inc(rows)

    def journal_failed(self) -> None:
        CAPTURE_JOURNAL_FAILURES.inc()

    def state(
        self,
        pending_rows: int,
        pending_bytes: int,
        max_pending_bytes: float,
        spill_files: int,
        spill_bytes: int,
    ) -> None:
        CAPTURE_PENDING_ROWS.set(pending_rows)
        CAPTURE_PENDING_BYTES.set(pending_bytes)
        CAPTURE_PENDING_MAX_BYTES.set(max_pending_bytes)
        CAPTURE_PENDING_FILL.set(pending_bytes / max_pending_bytes if max_pending_bytes > 0 else 0.0)
        CAPTURE_SPILL_FILES.set(spill_files)
        CAPTURE_SPILL_BYTES.set(spill_bytes)


class PrometheusFeedbackIndexTelemetry:
    """The feedback index's counters (infrastructure/local/feedback/indexing_log.py's IndexTelemetry)."""

    def ids_recorded(self, rows: int) -> None:
        FEEDBACK_IDS_RECORDED.inc(rows)

    def store_failed(self) -> None:
        FEEDBACK_INDEX_FAILURES.inc()

    def ids_dropped(self, rows: int, reason: str) -> None:
        FEEDBACK_IDS_DROPPED.labels(reason).inc(rows)

    def pending(self, rows: int) -> None:
        FEEDBACK_IDS_PENDING.set(rows)


def _unix_seconds(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None
