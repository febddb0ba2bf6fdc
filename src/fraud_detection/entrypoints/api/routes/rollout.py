"""Operator endpoints of a staged promotion (admin scope): the rollout as the policy sees it, and the abort
an operator or Alertmanager calls when a canary misbehaves (observability/alertmanager/alertmanager.yml)."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from fraud_detection.application.rollout.evaluate import RolloutDecision
from fraud_detection.domain.clients import Scope
from fraud_detection.domain.errors import NoActiveRolloutError, TooManyCapturedRowsError
from fraud_detection.domain.text import ONE_LINE_PATTERN, control_character_problem, one_line
from fraud_detection.entrypoints.api.dependencies import rollout_abort, rollout_evaluate
from fraud_detection.entrypoints.api.repeated_keys import json_body
from fraud_detection.entrypoints.api.schemas import SMALL_BODY, ErrorOut, body_refusals
from fraud_detection.entrypoints.api.security import require_scope
from fraud_detection.entrypoints.api.shared_call import SharedCall

router = APIRouter(
    prefix="/admin/rollout",
    tags=["admin"],
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses={
        401: {"model": ErrorOut, "description": "Missing or wrong bearer token."},
        403: {"model": ErrorOut, "description": "No `admin` scope, or admin disabled."},
        404: {"model": ErrorOut, "description": "No rollout yet, or none active (abort)."},
        503: {"model": ErrorOut, "description": "The registry or the capture store is unreachable."},
    },
)
ABORT_EXAMPLE = {"reason": "canary alert rate doubled"}
MAX_REASON = 500


class AbortIn(BaseModel):
    """An operator's `{"reason": "..."}`, or an Alertmanager notification (which carries more fields)."""

    # The schema states what `abort_reason` enforces: other fields only beside `alerts`.
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "if": {"required": ["alerts"], "properties": {"alerts": {"type": "array"}}},
            "else": {"properties": {"reason": {}}, "additionalProperties": False},
        },
    )
    reason: str | None = Field(
        None,
        max_length=MAX_REASON,
        description="Why (default: `aborted by an operator (API)`).",
        json_schema_extra={"pattern": ONE_LINE_PATTERN},
    )
    alerts: list[Any] | None = Field(
        None,
        description="An Alertmanager notification's alerts: the firing ones become the reason; a "
        "notification of resolved alerts only changes nothing.",
    )


@router.get("")
async def rollout_status(request: Request) -> dict[str, Any]:
    """The rollout state, both models' evidence on the same transactions, what the policy would do now
    (nothing is applied), and this replica's own view (the challenger it holds, its counters). Requests
    that arrive while the evidence is being gathered share that gathering (SharedCall)."""

    async def judge() -> RolloutDecision:
        evaluate = await rollout_evaluate(request)
        return await run_in_threadpool(evaluate, False)

    shared: SharedCall[RolloutDecision] = request.app.state.rollout_status
    try:
        body = (await shared(judge)).to_dict()
    except TooManyCapturedRowsError as error:
        body = await run_in_threadpool(without_evidence, request, error)
    runtime = request.app.state.container.serving.runtime()
    view = getattr(runtime, "replica_view", None)
    body["replica"] = view() if callable(view) else None
    return body


def without_evidence(request: Request, error: TooManyCapturedRowsError) -> dict[str, Any]:
    """The status past FRAUD_ROLLOUT_STATUS_MAX_ROWS: the state, and where to read the evidence instead."""
    rollout = request.app.state.container.rollout.store().load()
    if rollout is None:  # removed since the evaluation read it
        raise NoActiveRolloutError("no rollout yet; start one with `fraud rollout start VERSION`")
    detail = (
        f"evidence not gathered: the rollout's captures hold {error} (FRAUD_ROLLOUT_STATUS_MAX_ROWS), "
        "more than this API reads next to its traffic; read them with `fraud rollout status` where memory "
        "allows (on AWS, in the retrain task)"
    )
    return {
        "rollout": rollout.to_dict(), "evidence": None, "verdict": None, "applied": False,
        "detail": detail, "report": None,
    }  # fmt: skip


@router.post(
    "/abort",
    dependencies=[Depends(json_body)],
    responses=body_refusals(SMALL_BODY)
    | {
        202: {"description": "This API may only read the registry: the roll-back was handed to its writer."},
        409: {
            "model": ErrorOut,
            "description": "The rollout changed while the abort was being decided (nothing written); "
            "read it again.",
        },
    },
)
async def abort_rollout(
    request: Request,
    response: Response,
    body: AbortIn = Body(default_factory=AbortIn, examples=[ABORT_EXAMPLE]),
) -> dict[str, Any]:
    """Roll the active challenger back now. The body is `{"reason": "..."}` or an Alertmanager webhook
    (the reason names the firing alerts); a resolved-only webhook changes nothing. Where the API may only
    read the registry (AWS), the roll-back is published as `RolloutAbortRequested` for the writer to apply
    (202, `requested: true`)."""
    payload = body.model_dump(exclude_none=True)
    reason = abort_reason(payload)
    if reason is None:
        return {"aborted": False, "detail": "no firing alert in the notification"}
    abort = await rollout_abort(request)
    try:
        outcome = await run_in_threadpool(abort.or_hand_off, reason)
    except NoActiveRolloutError as error:
        if "alerts" not in payload:
            raise
        # Alertmanager repeats a firing alert (hourly): once the rollout is over, that is not an error.
        return {"aborted": False, "detail": str(error)}
    if outcome.handed_off:
        response.status_code = 202
        detail = f"{reason} (this API may only read the registry: requested from its writer)"
        return {"aborted": False, "requested": True, "detail": detail, "rollout": outcome.rollout.to_dict()}
    return {"aborted": True, "detail": reason, "rollout": outcome.rollout.to_dict()}


DEFAULT_REASON = "aborted by an operator (API)"


def abort_reason(payload: dict[str, Any]) -> str | None:
    """The reason to record: the caller's, or Alertmanager's firing alerts (name: summary). A body that is
    neither is refused (422), as the CLI refuses a bad --reason: `{"alerts": "firing"}` or a misspelt
    `reason` rolled the rollout back under the operator's default reason, and a long reason was cut without
    a word. A notification carries more fields (receiver, groupLabels...): only there are they allowed."""
    alerts = payload.get("alerts")
    if alerts is not None:
        if not isinstance(alerts, list):
            _refuse("alerts", "must be the list of alerts of an Alertmanager notification")
        firing = [alert for alert in alerts if isinstance(alert, dict) and alert.get("status") == "firing"]
        if not firing:
            return None
        names = [_alert_name(alert) for alert in firing]
        return one_line("alert " + "; ".join(names))[:MAX_REASON]  # a summary may span lines
    unknown = sorted(set(payload) - {"reason"})
    if unknown:  # `{"reasn": "..."}` rolled the rollout back under the default reason
        _refuse(
            unknown[0],
            'unknown field: the body is {"reason": "..."} or an Alertmanager notification with a list of '
            "`alerts`",
        )
    reason = payload.get("reason")
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        return DEFAULT_REASON
    if not isinstance(reason, str):  # a number or NaN was recorded as "nan"
        _refuse("reason", "must be text")
    if len(reason) > MAX_REASON:
        _refuse("reason", f"must be at most {MAX_REASON} characters, got {len(reason)}")
    problem = control_character_problem(reason)
    if problem is not None:
        _refuse("reason", problem)
    return reason


def _refuse(field: str, problem: str) -> NoReturn:
    raise RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": problem}])


def _alert_name(alert: dict[str, Any]) -> str:
    labels, annotations = alert.get("labels"), alert.get("annotations")
    name = labels.get("alertname", "alert") if isinstance(labels, dict) else "alert"
    summary = annotations.get("summary", "") if isinstance(annotations, dict) else ""
    return f"{name}: {summary}" if summary else str(name)
