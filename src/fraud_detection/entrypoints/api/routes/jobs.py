"""Batch scoring jobs over HTTP: submit (202), status, cancel. For clients with the `jobs` scope only: a job
reads and writes files (under the configured batch roots) with the service's own credentials."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.domain.clients import Scope
from fraud_detection.domain.errors import InvalidDataError, LocationNotAllowedError
from fraud_detection.domain.jobs import JobStatus, JobViewer
from fraud_detection.entrypoints.api import dependencies
from fraud_detection.entrypoints.api.repeated_keys import json_body
from fraud_detection.entrypoints.api.schemas import SMALL_BODY, ErrorOut, JobIn, JobOut, body_refusals
from fraud_detection.entrypoints.api.security import client_of, require_scope

router = APIRouter(
    prefix="/v1/jobs",
    tags=["batch jobs"],
    dependencies=[Depends(require_scope(Scope.JOBS))],
    responses={
        401: {"model": ErrorOut, "description": "Missing or wrong bearer token."},
        403: {"model": ErrorOut, "description": "The client lacks the `jobs` scope."},
        404: {"model": ErrorOut, "description": "No such job, or one of another namespace's clients."},
    },
)


# The submit use case's names for what it refuses -> the body's fields.
BODY_FIELDS = {"input": "input_uri", "output": "output_uri", "job_id": "job_id"}


@router.post(
    "",
    response_model=JobOut,
    status_code=202,
    dependencies=[Depends(json_body)],
    responses=body_refusals(SMALL_BODY)
    | {
        409: {"model": ErrorOut, "description": "The job id is taken in the client's namespace."},
        422: {
            "model": ErrorOut,
            "description": "Invalid body, or an input or output not under FRAUD_BATCH_INPUT_ROOTS / "
            "FRAUD_BATCH_OUTPUT_ROOTS (absolute paths or s3:// URIs; one answer whatever exists there; with "
            "FRAUD_BATCH_NAMESPACE_FOLDERS, under the client's namespace folder of each root). A "
            "relative path is refused naming its field: over HTTP there is no working folder to resolve it.",
        },
        503: {"model": ErrorOut, "description": "The broker is unreachable; nothing was recorded."},
    },
)
def submit_job(
    job: JobIn,
    request: Request,
    response: Response,
    submit: SubmitScoringJob = Depends(dependencies.submit_job),
) -> dict[str, Any]:
    """Record and queue the job; poll GET /v1/jobs/{job_id}. The input and output must sit under the batch
    roots (else 422, nothing recorded). A missing or malformed input fails the job at once, with the problem
    in its `error`; so does an output that already exists (nothing is ever overwritten)."""
    try:
        owner = client_of(request).namespace
        status = submit(job.input_uri, job.output_uri, job.model, job.job_id, owner)
    except (InvalidDataError, LocationNotAllowedError) as error:
        # a 422 naming the body's field, as every other bad value of the body (it said `problems: []`)
        if isinstance(error, InvalidDataError):
            field, message = BODY_FIELDS.get(error.source), error.problem
        else:
            field, message = BODY_FIELDS.get(error.direction or ""), str(error)
        if field is None:
            raise
        problem = {"type": "value_error", "loc": ("body", field), "msg": message}
        raise RequestValidationError([problem]) from None
    response.headers["Location"] = f"/v1/jobs/{status.job_id}"
    return job_out(status)


@router.get("/{job_id}", response_model=JobOut)
def job_status(
    job_id: str, request: Request, control: JobControl = Depends(dependencies.job_control)
) -> dict[str, Any]:
    """A job of the client's namespace, by the id it gave (any job for a client with `admin`, another
    namespace's as `<namespace>:<id>`); 404 otherwise."""
    return job_out(control.status(job_id, viewer(request)))


@router.delete("/{job_id}", response_model=JobOut)
def cancel_job(
    job_id: str, request: Request, control: JobControl = Depends(dependencies.job_control)
) -> dict[str, Any]:
    """Cancel: no output will be written (a finished job is left as it ended). Only a job the client
    sees (as GET)."""
    return job_out(control.cancel(job_id, viewer(request)))


def viewer(request: Request) -> JobViewer:
    client = client_of(request)
    return JobViewer(client.namespace, client.allows(Scope.ADMIN))


def job_out(status: JobStatus) -> dict[str, Any]:
    document = asdict(status)
    request = document.pop("request")
    document.pop("extra")
    return document | {
        "state": status.state.value,
        "error_kind": status.error_kind.value if status.error_kind else None,
        "input_uri": request["input_uri"],
        "output_uri": request["output_uri"],
        "model": request["model"],
        "submitted_at": request["submitted_at"],
        "progress": status.progress,
    }
