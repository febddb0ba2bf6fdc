"""An MLflow server whose artifact store (its S3 bucket) is down answers artifact requests 500: the error
named the tracking server alone, and operators restarted a healthy MLflow (seen on `make stack`)."""

from __future__ import annotations

import pytest
import requests
from mlflow.exceptions import MlflowException

from fraud_detection.infrastructure.mlflow.connection import TrackingStoreUnavailableError, reaching

SERVER = "http://127.0.0.1:5000"


def mlflow_request_failed(path: str) -> None:
    """As MLflow's `http_request` raises once its retries are spent (the requests error as context)."""
    url = f"{SERVER}{path}"
    try:
        raise requests.exceptions.RetryError(
            f"Max retries exceeded with url: {path} (too many 500 error responses)"
        )
    except requests.exceptions.RetryError as error:
        raise MlflowException(f"API request to {url} failed with exception {error}")  # noqa: B904


def test_an_artifact_request_that_failed_names_the_servers_artifact_store():
    with pytest.raises(TrackingStoreUnavailableError) as raised, reaching(SERVER):
        mlflow_request_failed("/api/2.0/mlflow-artifacts/artifacts/1/models/m-1/artifacts/model.lgb")
    assert str(raised.value).startswith(f"MLflow server {SERVER} could not reach its artifact store")
    assert "check the bucket or S3 endpoint" in str(raised.value)


def test_a_tracking_request_that_failed_still_names_the_server():
    with pytest.raises(TrackingStoreUnavailableError) as raised, reaching(SERVER):
        mlflow_request_failed("/api/2.0/mlflow/registered-models/get")
    assert str(raised.value).startswith(f"MLflow tracking store {SERVER} is unavailable")
