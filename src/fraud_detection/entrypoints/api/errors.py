"""Every error is JSON naming what was wrong: 422 for bad input, 401/403 for auth, 503 when not ready."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from fraud_detection.domain.errors import (
    DataSourceError,
    FraudDetectionError,
    IncompatibleModelError,
    InvalidDataError,
    JobExistsError,
    JobNotFoundError,
    ModelNotFoundError,
    ModelNotReadyError,
    NoActiveRolloutError,
    RegistryAccessDeniedError,
    RetrainInProgressError,
    RolloutRefusedError,
    ServiceUnavailableError,
)
from fraud_detection.settings.problems import PYDANTIC_PREFIXES

logger = logging.getLogger(__name__)
CLIENT_CLOSED_REQUEST = 499


def error_body(error: str, problems: list[dict[str, str | None]] | None = None) -> dict[str, object]:
    return {"error": error, "problems": problems or []}


def _field(location: tuple[int | str, ...]) -> str | None:
    """('body', 'transactions', 3, 'V2') -> 'transactions[3].V2'; the body itself -> None. Only the first
    part says where the value came from: an unknown key named "body" or "" is named as such (it was
    dropped, and the 422 named no field)."""
    parts = location[1:] if location and location[0] in REQUEST_PARTS else location
    text = ""
    for part in parts:
        name = str(part) or '""'
        text += f"[{part}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text or None


REQUEST_PARTS = ("body", "query", "header", "path", "cookie")  # FastAPI's first part of an error's location


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's default echoes the input, which fails to render for NaN (a 500): never echo it."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"field": _field(_location(e)), "problem": _problem(e)} for e in exc.errors()]
    return JSONResponse(error_body("invalid request", problems), status_code=422)


def _location(error: dict[str, object]) -> tuple[int | str, ...]:
    """FastAPI places a body that is not JSON at ('body', <character offset>): the body itself, not an
    item of a list."""
    location = error.get("loc", ())
    assert isinstance(location, tuple)
    return ("body",) if error.get("type") == "json_invalid" else location


def _problem(error: dict[str, object]) -> str:
    """pydantic's message, except for a list over its limit (say how many, and the limit per call) and
    FastAPI's "JSON decode error" (say what the decoder found, and where)."""
    context = error.get("ctx")
    location = error.get("loc")
    if error.get("type") == "json_invalid" and isinstance(context, dict) and isinstance(location, tuple):
        offset = location[-1] if location and isinstance(location[-1], int) else None
        if offset is not None:  # pydantic's own (scoring bodies) reads "Invalid JSON: ... line 1 column 13"
            return f"Invalid JSON: {context.get('error')} at character {offset}"
    if error.get("type") == "too_long" and isinstance(context, dict) and "actual_length" in context:
        what = location[-1] if isinstance(location, tuple) and location else "items"
        return f"{context['actual_length']} {what} exceed the limit of {context['max_length']} per call"
    if error.get("type") == "missing" and location == ("body",):  # FastAPI's "Field required" for no body
        return "no body: a JSON object is required"
    message = str(error.get("msg"))
    for prefix in PYDANTIC_PREFIXES:  # pydantic's wording around our validators' messages, not the caller's
        message = message.removeprefix(prefix)
    return message


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's answer to a body it cannot decode (bytes that are not UTF-8)
        problem = {"field": None, "problem": f"the body is not valid JSON ({exc.detail})"}
        return JSONResponse(error_body("invalid request", [problem]), status_code=422)
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FraudDetectionError)
    if isinstance(exc, ModelNotReadyError | ServiceUnavailableError):
        status = 503
    elif isinstance(exc, ModelNotFoundError | JobNotFoundError | NoActiveRolloutError):
        status = 404
    elif isinstance(exc, (RolloutRefusedError, JobExistsError, RetrainInProgressError)):
        status = 409
    elif isinstance(exc, InvalidDataError | IncompatibleModelError | DataSourceError):
        status = 422
    elif isinstance(exc, RegistryAccessDeniedError):  # the API's own identity, not the caller's request
        status = 502
    else:
        status = 400
    if status == 503:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(error_body(str(exc)), status_code=status)


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up before its body arrived (a load balancer's timeout, a client stopping while its
    batch waited its turn): nobody reads this answer. nginx's 499 keeps it apart from the server's own
    failures in the request metrics, where it was a 500 with a traceback in the log."""
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(FraudDetectionError, domain_error)
