"""One MLflow run behind the `TrackingRun` port, written through a client bound to its tracking URI."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow.lightgbm
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.models import infer_signature
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from fraud_detection.domain.model import MODEL_DIGEST_TAG, ModelMetadata
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.ports.tracking import TrackingRun
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder
from fraud_detection.infrastructure.mlflow.connection import display_uri, is_http, reaching
from fraud_detection.infrastructure.mlflow.fluent_scope import global_tracking_uri
from fraud_detection.infrastructure.mlflow.trusted_model import text_digest

MODEL_ARTIFACT_NAME = "model"
INPUT_EXAMPLE_ROWS = 5
TRUNCATED_MARK = "...[truncated]"


def param_text(value: object) -> str:
    """Any value as MLflow param text, cut to MLflow's length limit (it rejects longer values)."""
    text = str(value)
    if len(text) <= MAX_PARAM_VAL_LENGTH:
        return text
    return text[: MAX_PARAM_VAL_LENGTH - len(TRUNCATED_MARK)] + TRUNCATED_MARK


def _plain(value: object) -> object:
    """JSON fallback for numpy scalars and arrays, paths, dates: their Python value, else their text."""
    for method in ("tolist", "item", "isoformat"):
        if callable(convert := getattr(value, method, None)):
            return convert()
    return str(value)


def run_location(tracking_uri: str, experiment_id: str, run_id: str, artifact_uri: str) -> str:
    """Where a person finds a run: its page in the UI of a tracking server, else its artifact folder."""
    if is_http(tracking_uri):
        base = display_uri(tracking_uri).rstrip("/")
        return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"
    return artifact_uri


class MlflowTrackingRun(TrackingRun):
    def __init__(self, client: MlflowClient, tracking_uri: str, run: Run) -> None:
        self._client = client
        self._tracking_uri = tracking_uri
        self._run_id = str(run.info.run_id)
        self._experiment_id = str(run.info.experiment_id)
        self._artifact_uri = str(run.info.artifact_uri)

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def location(self) -> str:
        return run_location(self._tracking_uri, self._experiment_id, self._run_id, self._artifact_uri)

    def log_params(self, params: Mapping[str, Any]) -> None:
        batch = [Param(str(key), param_text(value)) for key, value in params.items()]
        with reaching(self._tracking_uri):
            self._client.log_batch(self._run_id, params=batch)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """NaN is logged as NaN (MLflow stores it): an undefined metric, such as ROC AUC on a test set
        without frauds, stays visible instead of silently missing."""
        now = int(time.time() * 1000)
        batch = [Metric(str(key), float(value), now, 0) for key, value in metrics.items()]
        with reaching(self._tracking_uri):
            self._client.log_batch(self._run_id, metrics=batch)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        batch = [RunTag(str(key), str(value)) for key, value in tags.items()]
        with reaching(self._tracking_uri):
            self._client.log_batch(self._run_id, tags=batch)

    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> None:
        plain = json.loads(json.dumps(dict(data), default=_plain))
        with reaching(self._tracking_uri):
            self._client.log_dict(self._run_id, plain, artifact_file)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        target = PurePosixPath(artifact_file)
        folder = str(target.parent) if str(target.parent) != "." else None
        with scratch_folder("fraud-artifact-") as scratch:
            local = Path(scratch) / target.name
            local.write_bytes(data)
            with reaching(self._tracking_uri):
                self._client.log_artifact(self._run_id, str(local), artifact_path=folder)

    def log_model(self, model: FraudModel, metadata: ModelMetadata, input_example: pd.DataFrame) -> str:
        """Log the booster as a LoggedModel of this run; returns its `models:/m-<id>` URI.

        The LoggedModel is created first through the bound client, in this run's experiment: left to
        itself, `log_model(run_id=...)` files it under the process's active experiment, which is the
        default experiment "0" (artifacts in `./mlruns`) when no run is active in this thread.

        The SHA-256 of the model file is computed here, from the booster this process trained (its text is
        byte for byte what `log_model` writes), and kept as a LoggedModel tag: registration copies it onto
        the version only if the uploaded file still matches, and every load checks it again.
        """
        if not isinstance(model, LightGBMFraudModel):
            raise TypeError(f"MLflow tracking logs LightGBM models, got {type(model).__name__}")
        example = input_example.head(INPUT_EXAMPLE_ROWS)
        signature = infer_signature(example, model.predict_proba(example))
        with reaching(self._tracking_uri):
            logged = self._client.create_logged_model(
                experiment_id=self._experiment_id,
                name=MODEL_ARTIFACT_NAME,
                source_run_id=self._run_id,
                params=self._client.get_run(self._run_id).data.params,
                model_type="lightgbm",
            )
            with global_tracking_uri(self._tracking_uri):
                info = mlflow.lightgbm.log_model(
                    model.booster,
                    name=MODEL_ARTIFACT_NAME,
                    run_id=self._run_id,
                    model_id=logged.model_id,
                    signature=signature,
                    input_example=example,
                    metadata=asdict(metadata),
                    # Pinned LightGBM only: inferring requirements reloads the model in a subprocess
                    # (measured 5.8 s vs 0.2 s per log), and the scorer loads with the lightgbm flavor.
                    pip_requirements=mlflow.lightgbm.get_default_pip_requirements(),
                )
            self._client.set_logged_model_tags(
                logged.model_id, {MODEL_DIGEST_TAG: text_digest(model.to_text())}
            )
        return str(info.model_uri)
