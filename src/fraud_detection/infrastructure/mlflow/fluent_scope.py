"""A lock-guarded, temporary global tracking URI for the MLflow calls that read no other.

`mlflow.<flavor>.log_model` takes `run_id` and `model_id` but builds its client from the process-wide
tracking URI (`mlflow.set_tracking_uri` / `MLFLOW_TRACKING_URI`), with no parameter for it; so does the SQL
registry store when it resolves a `models:/m-<id>` source. One process may hold trackers for several stores
and Prefect may run tasks in threads, so such a call sets the URI it needs, restores the previous one after,
and holds a process-wide lock meanwhile: two of our calls never see each other's URI. Everything else in
this package uses clients bound to a URI and leaves this state alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from mlflow.tracking._tracking_service import utils as tracking_utils

_LOCK = threading.RLock()
_ENV = "MLFLOW_TRACKING_URI"


@contextmanager
def global_tracking_uri(tracking_uri: str) -> Iterator[None]:
    with _LOCK:
        # The explicitly set URI (None when unset), so an unset URI stays unset rather than being pinned
        # to the default MLflow derives from the working directory. Private, hence the public fallback.
        previous_uri = getattr(tracking_utils, "_tracking_uri", mlflow.get_tracking_uri())
        previous_env = os.environ.get(_ENV)
        mlflow.set_tracking_uri(tracking_uri)
        try:
            yield
        finally:
            # set_tracking_uri also writes MLFLOW_TRACKING_URI; put back exactly what the caller had.
            mlflow.set_tracking_uri(previous_uri)
            if previous_env is None:
                os.environ.pop(_ENV, None)
            else:
                os.environ[_ENV] = previous_env
