"""Ready the champion as a worker process starts, so that its first job does not pay for loading (and
compiling) the model inside a chunk task.

Best effort, on a background thread: the worker takes tasks at once, a chunk task that needs the model
meanwhile waits for this load instead of starting its own, and a failure (no champion yet, registry down)
is only logged; every job loads the version it pinned anyway.
"""

from __future__ import annotations

import logging
import threading
import time

from celery.signals import worker_process_init, worker_ready

from fraud_detection.domain.model import CHAMPION
from fraud_detection.workers.composition import job_models

logger = logging.getLogger(__name__)


def preload_at_start(prefork: bool) -> None:
    """Preload in each pool process: the worker itself with the solo pool, every forked child with prefork
    (each has its own model copy; the parent runs no task)."""
    signal = worker_process_init if prefork else worker_ready
    signal.connect(_on_start, weak=False)


def preload_champion() -> threading.Thread:
    thread = threading.Thread(target=_load_champion, name="preload-champion", daemon=True)
    thread.start()
    return thread


def _on_start(**_: object) -> None:
    preload_champion()


def _load_champion() -> None:
    started = time.perf_counter()
    try:
        models = job_models()
        version, threshold = models.resolve(CHAMPION)
        models.get(version.version, threshold)
    except Exception as error:  # best effort: the job loads its pinned version itself
        logger.warning("could not preload the champion (each job loads its model instead): %s", error)
        return
    logger.info("preloaded %s for batch scoring in %.1f s", version.label, time.perf_counter() - started)
