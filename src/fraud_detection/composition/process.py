"""The container of this process: built from the environment on first use, and again after a fork.

Every entry point (CLI commands, Prefect flows, Celery workers, the Lambda handler, the API by default)
takes its objects from here, so a prefork child or a Prefect worker loading a flow by file path gets its
own storage and registry clients without any wiring step.
"""

from __future__ import annotations

import os
import threading

from fraud_detection.composition.root import Container

_lock = threading.Lock()
_container: Container | None = None


def get_container() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container()
        return _container


def use_container(container: Container | None) -> None:
    """Serve `container` from now on (tests), or build a new one from the environment on next use (None)."""
    global _container
    with _lock:
        _container = container


def _forget_after_fork() -> None:
    global _container, _lock
    _container, _lock = None, threading.Lock()  # the parent's lock may have been held by another thread


os.register_at_fork(after_in_child=_forget_after_fork)
