"""The serving process's background work: poll for a new champion, and flush captured predictions on stop."""

from __future__ import annotations

import logging
import threading

from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.domain.ports.prediction_log import PredictionLog

logger = logging.getLogger(__name__)


class ServingRuntime:
    def __init__(self, loader: ChampionLoader, log: PredictionLog, poll_seconds: float) -> None:
        self._loader, self._log, self._poll_seconds = loader, log, poll_seconds
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def start(self) -> None:
        """Load the champion now, then poll for changes. No failure stops the start: the service comes up
        serving the verified local copy, or live and not ready until a poll loads a model."""
        try:
            outcome = self._loader.refresh()
            logger.info("model at start: %s", outcome.detail)
        except Exception:
            logger.exception("no model at start; live and not ready until a refresh succeeds")
        if self._poll_seconds > 0:
            self._poller = threading.Thread(target=self._poll, name="champion-poller", daemon=True)
            self._poller.start()

    def stop(self) -> None:
        """Stop polling, then flush every captured prediction (called on graceful shutdown)."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
        self._log.close()

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                outcome = self._loader.refresh()
            except Exception:  # the poller must outlive any one failure
                logger.exception("champion refresh failed")
                continue
            if outcome.changed:
                logger.info("champion refresh: %s", outcome.detail)
