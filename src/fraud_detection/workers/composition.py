"""What a worker process takes from its container (`get_container()`: built on first use, again after a
fork, so each prefork child has its own storage and registry clients and its own model copy).

Job outcomes are metered where they are recorded: the worker's job store is wrapped once per container.
"""

from __future__ import annotations

import os
import threading
import weakref

from dependency_injector import providers

from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.stalled import StalledJobs
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.composition import Container, get_container
from fraud_detection.composition.adapters import make_job_store
from fraud_detection.workers.metered_store import MeteredJobStore

_lock = threading.Lock()
_metered: weakref.WeakSet[Container] = weakref.WeakSet()


def meter_job_outcomes(container: Container) -> Container:
    """`container`, its job store counting the outcomes it records (fraud_batch_jobs_total). Done before
    anything is built from the store: objects built earlier keep the unmetered one."""
    if container not in _metered:
        adapters = container.adapters
        records = providers.Singleton(make_job_store, adapters.object_store)
        adapters.job_store.override(providers.Singleton(MeteredJobStore, records))
        _metered.add(container)
    return container


def _worker_container() -> Container:
    """The process's container, metered; the caller holds `_lock` (the container's singletons are not
    thread-safe, and the thread preloading the champion may be building them while the first task arrives)."""
    return meter_job_outcomes(get_container())


def job_steps() -> JobSteps:
    with _lock:
        return _worker_container().batch.job_steps()


def job_models() -> JobModels:
    """This process's loaded (and accelerated) models, shared by every task."""
    with _lock:
        return _worker_container().batch.job_models()


def stalled_jobs() -> StalledJobs:
    with _lock:
        return _worker_container().batch.stalled_jobs()


def _forget_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's lock may have been held by another thread


os.register_at_fork(after_in_child=_forget_after_fork)
