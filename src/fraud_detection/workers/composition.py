"""The container of one worker process: built from the environment on first use, after any fork, so each
prefork child gets its own storage and registry clients (and its own model copy)."""

from __future__ import annotations

import os
import threading

from dependency_injector import providers

from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.container import Container, bootstrap, make_job_store
from fraud_detection.settings import Settings
from fraud_detection.workers.metered_store import MeteredJobStore

_lock = threading.Lock()
_container: Container | None = None


def build_worker_container(settings: Settings | None = None) -> Container:
    """The project's container, unwired (tasks call providers directly), with job outcomes metered."""
    container = bootstrap(settings, packages=())
    records = providers.Singleton(make_job_store, container.object_store)
    container.job_store.override(providers.Singleton(MeteredJobStore, records))
    return container


def worker_container() -> Container:
    with _lock:
        return _built()


def _built() -> Container:
    """The container, built on first use; the caller holds `_lock`."""
    global _container
    if _container is None:
        _container = build_worker_container()
    return _container


def use_container(container: Container | None) -> None:
    """Run this process's tasks on `container` (tests), or on one built from the environment (None)."""
    global _container
    with _lock:
        _container = container


def job_steps() -> JobSteps:
    # Built under the lock, as `job_models` is: the container's singletons are not thread-safe, and the
    # thread preloading the champion may be building them while the first task arrives.
    with _lock:
        steps: JobSteps = _built().job_steps()
    return steps


def job_models() -> JobModels:
    """This process's loaded (and accelerated) models, shared by every task."""
    with _lock:
        models: JobModels = _built().job_models()
    return models


def _forget_after_fork() -> None:
    global _container, _lock
    _container, _lock = None, threading.Lock()  # the parent's lock may have been held by another thread


os.register_at_fork(after_in_child=_forget_after_fork)
