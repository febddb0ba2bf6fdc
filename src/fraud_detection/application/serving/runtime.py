"""The serving process's background work: poll for a new champion (and the rollout state), and flush captured
predictions on stop. `replica_view` is this process's own view of a rollout, for `GET /admin/rollout`."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.rollout_scoring import RolloutScoring
from fraud_detection.domain.ports.prediction_log import PredictionLog

logger = logging.getLogger(__name__)

# How long the start waits for the first load before the service answers (live, not ready, until it ends).
START_WAIT_SECONDS = 20.0


class ServingRuntime:
    def __init__(
        self,
        loader: ChampionLoader,
        log: PredictionLog,
        poll_seconds: float,
        rollout_poll_seconds: float | None = None,  # None: no rollout state to read
        holder: ModelHolder | None = None,
        rollout: RolloutScoring | None = None,
        start_wait_seconds: float = START_WAIT_SECONDS,
    ) -> None:
        self._loader, self._log, self._poll_seconds = loader, log, poll_seconds
        self._start_wait = start_wait_seconds
        self._rollout_poll = rollout_poll_seconds or 0.0
        self._holder, self._rollout = holder, rollout
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.started_at = time.time()

    def start(self) -> None:
        """Load the champion now, then poll for changes. No failure stops the start: the service comes up
        serving the verified local copy, or live and not ready until a poll loads a model. Nor does a
        registry that does not answer: past `start_wait_seconds` the start goes on and the load ends on
        its own (a database tracking URI retries its connection for ~100 s, and the API answered nothing,
        not even /healthz, meanwhile)."""
        loading = threading.Thread(target=self._load_at_start, name="champion-at-start", daemon=True)
        loading.start()
        loading.join(self._start_wait)
        if loading.is_alive():
            logger.warning(
                "model load at start still under way after %.0f s (the registry is slow or unreachable): "
                "live and not ready until it ends",
                self._start_wait,
            )
        if self._poll_seconds > 0 or self._rollout_poll > 0:
            self._poller = threading.Thread(target=self._poll, name="champion-poller", daemon=True)
            self._poller.start()

    def _load_at_start(self) -> None:
        try:
            outcome = self._loader.refresh()
            logger.info("model at start: %s", outcome.detail)
        except Exception:
            logger.exception("no model at start; live and not ready until a refresh succeeds")

    def stop(self) -> None:
        """Stop polling, then flush every captured prediction, dark ones included (graceful shutdown)."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
        if self._rollout is not None:
            try:
                self._rollout.shadow.close()
            except Exception:  # the served predictions still get flushed
                logger.exception("closing the shadow capture failed")
        self._log.close()

    def replica_view(self) -> dict[str, Any]:
        """This process's rollout: stage, canary share, models loaded, what it scored since start (rows,
        alerts, errors per role and version), dark scorings dropped, p99 model time per role (latest
        scorings). JSON-ready."""
        snapshot = self._holder.snapshot if self._holder is not None else None
        rollout = snapshot.rollout if snapshot is not None else None
        champion = snapshot.champion if snapshot is not None else None
        challenger = snapshot.challenger if snapshot is not None else None
        view: dict[str, Any] = {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "stage": str(rollout.stage) if rollout is not None else "none",
            "canary_percent": rollout.canary_percent if rollout is not None else 0.0,
            "champion_version": champion.version.version if champion is not None else None,
            "challenger_version": challenger.version.version if challenger is not None else None,
            "challenger_loaded_at": challenger.loaded_at if challenger is not None else None,
            "counts": [],
            "p99_ms": {},
            "shadow_dropped": {},
        }
        if self._rollout is not None:
            view |= self._rollout.recorder.view()
        return view

    def _poll(self) -> None:
        """Every `poll_seconds` the champion and the rollout; in between, every `rollout_poll_seconds`, the
        rollout alone (so a stage change reaches every replica within one rollout poll)."""
        ticks = [seconds for seconds in (self._poll_seconds, self._rollout_poll) if seconds > 0]
        tick, next_champion = min(ticks), time.monotonic() + self._poll_seconds
        while not self._stop.wait(tick):
            champion_due = self._poll_seconds > 0 and time.monotonic() >= next_champion - tick / 20
            try:
                if champion_due:
                    next_champion = time.monotonic() + self._poll_seconds
                    outcome = self._loader.refresh()
                else:
                    outcome = self._loader.refresh_rollout()
            except Exception:  # the poller must outlive any one failure
                logger.exception("model refresh failed")
                continue
            if outcome.changed:
                logger.info("model refresh: %s", outcome.detail)
