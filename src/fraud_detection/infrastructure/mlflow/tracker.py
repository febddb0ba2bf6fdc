"""MLflow experiment tracking: one experiment per tracker, one run per `start_run` block.

Runs are created and ended through an `MlflowClient` bound to this tracker's URI with explicit run ids, not
through `mlflow.start_run`: the fluent active-run stack and tracking URI are process (or thread) state, and
one process may hold several trackers while Prefect runs tasks in threads.

A run whose process died before its end reached MLflow (MLflow down or frozen when the block ended, the task
SIGKILLed) would show RUNNING for good; each new run marks such runs of its experiment FAILED once they are
older than `abandoned_after`, a bound on how long a training run can take.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property

from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException

from fraud_detection.domain.ports.tracking import ExperimentTracker, RunRecord, TrackingRun
from fraud_detection.infrastructure.mlflow.connection import (
    NOT_FOUND,
    apply_env_defaults,
    client_for,
    display_uri,
    error_code,
    reaching,
)
from fraud_detection.infrastructure.mlflow.run import MlflowTrackingRun, run_location

_log = logging.getLogger(__name__)

ABANDONED_TAG = "fraud.abandoned"
# Runs marked per new run; any more are marked by the next ones (a backlog needs no single long call).
ABANDONED_BATCH = 100


class MlflowExperimentTracker(ExperimentTracker):
    """`artifact_location` applies only when this tracker creates the experiment: embedded mode passes a
    file:// folder next to the SQLite file; with a tracking server leave it None (the server proxies)."""

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        artifact_location: str | None = None,
        abandoned_after: timedelta = timedelta(hours=12),
        run_tags: Mapping[str, str] | None = None,
        run_params: Mapping[str, str] | None = None,
    ) -> None:
        """`run_tags`, `run_params`: recorded on every run (provenance.py: code, user, settings)."""
        self._run_tags, self._run_params = dict(run_tags or {}), dict(run_params or {})
        self._tracking_uri = tracking_uri
        self._abandoned_after = abandoned_after
        apply_env_defaults(tracking_uri)
        self._experiment_name = experiment_name
        self._artifact_location = artifact_location
        self._experiment_id: str | None = None
        self._lock = threading.Lock()

    @cached_property
    def _client(self) -> MlflowClient:
        """Made on first use: MLflow opens (and migrates) a SQLite store as soon as a client exists."""
        with reaching(self._tracking_uri):
            return client_for(self._tracking_uri)

    @property
    def experiment_id(self) -> str:
        """Looked up (or created) on first use, so building the tracker needs no reachable server."""
        with self._lock:
            if self._experiment_id is None:
                with reaching(self._tracking_uri):
                    self._experiment_id = self._get_or_create_experiment()
            return self._experiment_id

    @contextmanager
    def start_run(self, run_name: str, tags: Mapping[str, str]) -> Iterator[TrackingRun]:
        experiment_id = self.experiment_id
        with reaching(self._tracking_uri):
            run = self._client.create_run(experiment_id, run_name=run_name, tags=self._run_tags | dict(tags))
        run_id = str(run.info.run_id)
        self._end_abandoned_runs(experiment_id, run_id)
        try:
            tracking_run = MlflowTrackingRun(self._client, self._tracking_uri, run)
            if self._run_params:
                tracking_run.log_params(self._run_params)
            yield tracking_run
        except Exception:
            self._end_after_error(run_id, RunStatus.FAILED)
            raise
        except BaseException:  # Ctrl-C, SystemExit: the run did not fail, it was stopped
            self._end_after_error(run_id, RunStatus.KILLED)
            raise
        with reaching(self._tracking_uri):
            self._client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))

    def run_record(self, run_id: str) -> RunRecord | None:
        with reaching(self._tracking_uri):
            try:
                run = self._client.get_run(run_id)
            except MlflowException as error:
                if error_code(error) == NOT_FOUND:
                    return None
                raise
        info = run.info
        return RunRecord(
            run_id=str(info.run_id),
            # A deleted run stays readable until MLflow's garbage collection: said, not shown as live.
            status=f"{info.status} (deleted)" if info.lifecycle_stage == "deleted" else str(info.status),
            started=_utc(info.start_time),
            ended=_utc(info.end_time),
            location=run_location(
                self._tracking_uri, str(info.experiment_id), run_id, str(info.artifact_uri)
            ),
            tags=dict(run.data.tags),
            params=dict(run.data.params),
        )

    def _end_after_error(self, run_id: str, status: int) -> None:
        """Mark the run; if even that fails, log it and let the block's own error propagate."""
        try:
            self._client.set_terminated(run_id, RunStatus.to_string(status))
        except Exception:
            where = display_uri(self._tracking_uri)
            _log.warning("could not mark MLflow run %s as failed on %s", run_id, where, exc_info=True)

    def _end_abandoned_runs(self, experiment_id: str, by_run: str) -> None:
        """Mark FAILED, with a tag saying why, the runs still RUNNING past the bound. Best effort: a failure
        here is logged and never stops the new run. A run that was in fact still alive and ends later
        records its own end over this one (`set_terminated` overwrites the status)."""
        cutoff_ms = int((time.time() - self._abandoned_after.total_seconds()) * 1000)
        hours = self._abandoned_after.total_seconds() / 3600
        try:
            stale = self._client.search_runs(
                [experiment_id],
                filter_string=f"attributes.status = 'RUNNING' AND attributes.start_time < {cutoff_ms}",
                max_results=ABANDONED_BATCH,
            )
            for found in stale:
                stale_id = str(found.info.run_id)
                reason = f"no end recorded within {hours:g} h of its start; marked FAILED by run {by_run}"
                self._client.set_tag(stale_id, ABANDONED_TAG, reason)
                self._client.set_terminated(stale_id, RunStatus.to_string(RunStatus.FAILED))
                _log.warning("MLflow run %s: %s", stale_id, reason)
        except Exception:
            where = display_uri(self._tracking_uri)
            _log.warning("could not look for abandoned MLflow runs on %s", where, exc_info=True)

    def _get_or_create_experiment(self) -> str:
        found = self._client.get_experiment_by_name(self._experiment_name)
        if found is None:
            try:
                return str(
                    self._client.create_experiment(
                        self._experiment_name, artifact_location=self._artifact_location
                    )
                )
            except MlflowException as error:  # another process created it first
                if error_code(error) != "RESOURCE_ALREADY_EXISTS":
                    raise
                found = self._client.get_experiment_by_name(self._experiment_name)
                if found is None:
                    raise
        if found.lifecycle_stage == "deleted":
            _log.warning("restoring deleted MLflow experiment '%s'", self._experiment_name)
            self._client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)


def _utc(milliseconds: int | None) -> str:
    if not milliseconds:
        return ""
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="seconds")
