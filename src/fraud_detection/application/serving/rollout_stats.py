"""What this replica saw of a rollout since it started: sent to the telemetry (Prometheus, summed over
replicas) and kept in process for `GET /admin/rollout` (one replica's own view, p99 per role included)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraud_detection.domain.ports.telemetry import ScoringTelemetry

LATENCY_SAMPLES = 2_048  # per role: the p99 of the latest scorings, not of the whole life of the process


@dataclass
class _Counts:
    rows: int = 0
    alerts: int = 0
    errors: int = 0


@dataclass
class RolloutRecorder:
    """Counts per (role, version), dark scorings dropped per reason, and a ring of scoring times per role.
    Called from the request path and the shadow worker: a lock keeps the counts whole."""

    telemetry: ScoringTelemetry
    _counts: dict[tuple[str, int], _Counts] = field(default_factory=dict)
    _dropped: dict[str, int] = field(default_factory=dict)
    _latencies: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def scored(self, role: str, version: int, rows: int, alerts: int, seconds: float) -> None:
        with self._lock:  # get before setdefault: a default built on every call costs the request path
            counts = self._counts.get((role, version)) or self._counts.setdefault((role, version), _Counts())
            counts.rows += rows
            counts.alerts += alerts
            ring = self._latencies.get(role)
            if ring is None:
                ring = self._latencies[role] = deque(maxlen=LATENCY_SAMPLES)
            ring.append(seconds)
        self.telemetry.rollout_scored(role, version, rows, alerts, seconds)

    def errors(self, role: str, version: int, rows: int) -> None:
        with self._lock:
            self._counts.setdefault((role, version), _Counts()).errors += rows
        self.telemetry.rollout_errors(role, version, rows)

    def dropped(self, reason: str, rows: int) -> None:
        """A dark scoring not done (the caller also counts a challenger's as its error)."""
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + rows
        self.telemetry.shadow_dropped(reason, rows)

    def view(self) -> dict[str, Any]:
        with self._lock:
            counts = [
                {
                    "role": str(role),
                    "version": version,
                    "rows": c.rows,
                    "alerts": c.alerts,
                    "errors": c.errors,
                }
                for (role, version), c in sorted(self._counts.items())
            ]
            p99 = {str(role): _p99_ms(samples) for role, samples in sorted(self._latencies.items())}
            dropped = dict(self._dropped)
        return {"counts": counts, "p99_ms": p99, "shadow_dropped": dropped}


def _p99_ms(samples: deque[float]) -> float | None:
    return float(np.percentile(np.fromiter(samples, float), 99) * 1000) if samples else None
