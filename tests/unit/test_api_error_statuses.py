"""The HTTP status of each domain error: what a caller can do about it decides the class (4xx: the request;
5xx: this service or what it depends on)."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.requests import Request

from fraud_detection.domain.errors import (
    FraudDetectionError,
    InvalidDataError,
    JobExistsError,
    ModelNotFoundError,
    NoActiveRolloutError,
    RegistryAccessDeniedError,
    RolloutRefusedError,
    ServiceUnavailableError,
)
from fraud_detection.entrypoints.api.errors import domain_error


def _request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/admin/rollout/abort", "headers": []})


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ServiceUnavailableError("registry down"), 503),
        (ModelNotFoundError("no v9"), 404),
        (NoActiveRolloutError("no rollout yet"), 404),
        (RolloutRefusedError("v1 is the champion"), 409),
        (JobExistsError("job j exists"), 409),
        (InvalidDataError("body", "not a number", column="V1"), 422),
        (RegistryAccessDeniedError("MLflow refused this request (403, ...)"), 502),
        (FraudDetectionError("anything else"), 400),
    ],
)
def test_each_domain_error_has_its_status_and_message(error: FraudDetectionError, status: int) -> None:
    response = asyncio.run(domain_error(_request(), error))

    assert response.status_code == status
    assert json.loads(bytes(response.body))["error"] == str(error)
