"""An MLflow server that refuses the identity (401, 403) is a domain error saying so, not a retry hint.

Against the MLflow host's real nginx site in front of a real `mlflow server`: the read-only identity's write
is answered 403 by nginx, a wrong password 401. Both must reach the CLI as one line naming the identity and
what to check, and neither may look like "the store is down, try again".
"""

from __future__ import annotations

import uuid

import pytest
import requests
from mlflow import MlflowClient

from fraud_detection.domain.model import CHAMPION
from fraud_detection.infrastructure.mlflow import MlflowModelRegistry
from fraud_detection.infrastructure.mlflow.connection import (
    TrackingStoreAccessDeniedError,
    TrackingStoreUnavailableError,
    reaching,
)
from tests.fixtures.mlflow_site import READER, WRITER, MlflowSite

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(mlflow_site_on_server: MlflowSite) -> MlflowSite:
    return mlflow_site_on_server


def _as(
    monkeypatch: pytest.MonkeyPatch, site: MlflowSite, identity: tuple[str, str], name: str = ""
) -> MlflowModelRegistry:
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(site.ca))
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", identity[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", identity[1])
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowModelRegistry(site.url, name or f"access-{uuid.uuid4().hex[:8]}")


def test_the_readers_write_is_refused_with_a_403_naming_the_identity(
    monkeypatch: pytest.MonkeyPatch, site: MlflowSite
) -> None:
    name = f"access-{uuid.uuid4().hex[:8]}"
    _as(monkeypatch, site, WRITER)  # the writer's credentials, for the client below
    MlflowClient(site.url).create_registered_model(name)
    registry = _as(monkeypatch, site, READER, name)
    assert registry.get_by_alias(CHAMPION) is None  # reads go through

    with pytest.raises(TrackingStoreAccessDeniedError, match=r"refused this request \(403") as refused:
        registry.remove_alias(CHAMPION)

    assert f"MLFLOW_TRACKING_USERNAME={READER[0]}" in str(refused.value)
    assert site.url in str(refused.value)
    assert "<html>" not in str(refused.value)


def test_a_wrong_password_is_refused_with_a_401(monkeypatch: pytest.MonkeyPatch, site: MlflowSite) -> None:
    registry = _as(monkeypatch, site, (WRITER[0], "not-the-password"))

    with pytest.raises(TrackingStoreAccessDeniedError, match=r"refused the credentials \(401") as refused:
        registry.list_versions()

    assert not isinstance(refused.value, TrackingStoreUnavailableError)
    assert "MLFLOW_TRACKING_PASSWORD" in str(refused.value)


@pytest.mark.parametrize(("status", "denied"), [(401, True), (403, True), (404, False), (503, False)])
def test_an_artifact_requests_http_error_is_denied_only_for_401_and_403(status: int, denied: bool) -> None:
    """Artifact downloads raise requests' HTTPError (an OSError, which otherwise reads as unreachable)."""
    response = requests.Response()
    response.status_code = status
    expected = TrackingStoreAccessDeniedError if denied else TrackingStoreUnavailableError

    with pytest.raises(expected), reaching("https://mlflow.example"):
        raise requests.HTTPError(f"{status} error", response=response)
