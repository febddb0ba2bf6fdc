"""POST /v1/feedback: confirmed fraud/legit labels from the chargeback process, matched with the decisions
served. For clients with the `feedback` scope, and only on ids scored within the client's namespace: a
forged label would skew retraining and the realised-quality metrics."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from fraud_detection.application.feedback import RecordFeedback
from fraud_detection.domain.clients import Scope
from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.feedback import (
    LabelContradictions,
    LabelInput,
    LabelOutcome,
    LabelResult,
    contradiction_problem,
    label_name,
)
from fraud_detection.entrypoints.api import dependencies
from fraud_detection.entrypoints.api.bodies import limited, parse_body, with_body
from fraud_detection.entrypoints.api.errors import error_body
from fraud_detection.entrypoints.api.feedback_schemas import (
    FeedbackErrorOut,
    FeedbackIn,
    FeedbackOut,
    LabelIn,
)
from fraud_detection.entrypoints.api.repeated_keys import refuse_repeated_keys
from fraud_detection.entrypoints.api.schemas import (
    BUSY,
    FEEDBACK_BODY,
    RETRY_AFTER,
    ErrorOut,
    Responses,
    body_refusals,
)
from fraud_detection.entrypoints.api.security import client_of, require_scope

FEEDBACK_LABELS = Counter(
    "fraud_feedback_labels",
    "Labels received on POST /v1/feedback, by label and outcome.",
    ["label", "outcome"],
)
IDS_NAMED = 20  # ids quoted in an error message; `problems` names every one


DESCRIPTION = """Record confirmed outcomes for scored transactions, matched by `transaction_id`.

Needs `Authorization: Bearer <key>` of a client with the `feedback` scope (the chargeback system, not a card
holder; the admin token does not open it). Ids are matched within the client's namespace: a label reaches
only transactions scored by clients of the same namespace.

Each label gets an outcome, in order: `new` (recorded), `duplicate` (the same label was already recorded: a
retry is harmless), `conflict` (the other label is recorded; it is kept, never overwritten) or
`unknown` (no scored transaction with that id: never scored, scored without an id, scored within the last
second and not indexed yet, or past FRAUD_FEEDBACK_RETENTION_DAYS). A repeated id in one call sees the
earlier item.

Status codes, including mixed batches:
- **200** when at least one label is `new` or `duplicate`; the other items may be `unknown` or `conflict`
  (read `results`).
- **404** when every label is `unknown` (a single unknown label included); the body names the ids.
- **409** when no label is `new` or `duplicate` and at least one conflicts (every item conflicts, or
  conflicts mixed with unknown ids). Nothing was changed.
- **422** for an invalid body (each problem names the field), or more than FRAUD_FEEDBACK_BATCH_MAX labels.

404 and 409 bodies carry `error` and `problems` like every error, plus the per-item `results` and `counts`.
"""


def body_model(labels_max: int) -> type[BaseModel]:
    """The feedback body of one app: FeedbackIn capped at FRAUD_FEEDBACK_BATCH_MAX labels by its schema."""
    return limited(FeedbackIn, "labels", labels_max)


def build_router(body: type[BaseModel]) -> APIRouter:
    """The OpenAPI document's view of POST /v1/feedback; `feedback` serves the path (app.py places it
    first), so that the body is parsed off the event loop."""
    router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(require_scope(Scope.FEEDBACK))])
    endpoint = with_body(post_feedback, "body", body)
    router.add_api_route(
        "/feedback", endpoint, methods=["POST"], response_model=FeedbackOut, description=DESCRIPTION,
        responses=RESPONSES,
    )  # fmt: skip
    return router


RESPONSES: Responses = body_refusals(FEEDBACK_BODY) | {
    401: {"model": ErrorOut, "description": "Missing or unknown API key."},
    403: {"model": ErrorOut, "description": "The client lacks the `feedback` scope."},
    404: {"model": FeedbackErrorOut, "description": "Every label names an unknown transaction id."},
    409: {"model": FeedbackErrorOut, "description": "No label accepted; at least one conflicts."},
    422: {"model": ErrorOut, "description": "Invalid body: each problem names the field."},
    503: {
        "model": ErrorOut,
        "description": f"The feedback store is unreachable, {BUSY}; nothing was recorded.",
        "headers": RETRY_AFTER,
    },
}


async def feedback(request: Request) -> JSONResponse:
    """POST /v1/feedback as served: the body is read on the event loop, then parsed, checked for repeated
    keys and recorded on a worker thread. FastAPI parsed it on the loop, and the repeated-key check parsed
    it again there: a body of junk held every probe and single score for seconds."""
    raw = await request.body()  # the client is authenticated, and the batch turn taken, by the middleware
    return await run_in_threadpool(_feedback, request, raw)


def _feedback(request: Request, raw: bytes) -> JSONResponse:
    body = parse_body(request.headers.get("content-type", ""), raw, request.app.state.feedback_model)
    refuse_repeated_keys(raw, 0, 0)  # the exact pass: a time's colons cannot be counted from its value
    return post_feedback(request, body, request.app.state.container.feedback.record())


def post_feedback(
    request: Request,
    body: FeedbackIn,
    record: RecordFeedback = Depends(dependencies.record_feedback),
) -> JSONResponse:
    labels = body.labels  # at most FRAUD_FEEDBACK_BATCH_MAX: the app's body model says so
    refuse_contradictions(labels)
    client = client_of(request)
    try:
        scoped = record(
            [LabelInput(client.scoped_id(i.transaction_id), i.is_fraud, i.labelled_at) for i in labels]
        )
    except InvalidDataError as error:  # a time before the retention: a 422 naming the label's field
        if error.source != "labelled_at" or error.row is None:
            raise
        loc = ("body", "labels", error.row, "labelled_at")
        raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": error.problem}]) from None
    # Answer in the client's own ids.
    results = [replace(r, transaction_id=item.transaction_id) for r, item in zip(scoped, labels, strict=True)]
    count_labels(results)
    status = feedback_status([result.outcome for result in results])
    document = feedback_document(results)
    if status == 200:
        return JSONResponse(document)
    return JSONResponse(error_body(*rejection(results)) | document, status_code=status)


def refuse_contradictions(labels: Sequence[LabelIn]) -> None:
    """422 for a call that labels one id both ways, nothing recorded: the first would be kept for good and
    the other answered a mere `conflict` (200), so a correction later in the call was lost."""
    contradictions = LabelContradictions()
    for i, item in enumerate(labels):
        earlier = contradictions.earlier(item.transaction_id, item.is_fraud, i)
        if earlier is not None:
            problem = contradiction_problem(item.transaction_id, item.is_fraud, f"labels[{earlier}]")
            loc = ("body", "labels", i, "is_fraud")
            raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": problem}])


def feedback_status(outcomes: Sequence[LabelOutcome]) -> int:
    if any(outcome.accepted for outcome in outcomes):
        return 200
    if all(outcome is LabelOutcome.UNKNOWN for outcome in outcomes):
        return 404
    return 409


def rejection(results: Sequence[LabelResult]) -> tuple[str, list[dict[str, str | None]]]:
    """The error line and one problem per rejected item (404 and 409 bodies)."""
    unknown = [r.transaction_id for r in results if r.outcome is LabelOutcome.UNKNOWN]
    conflicts = [r.transaction_id for r in results if r.outcome is LabelOutcome.CONFLICT]
    parts = []
    if unknown:
        parts.append(f"no scored transaction with id {_quoted(unknown)}")
    if conflicts:
        parts.append(f"the other label is already recorded for {_quoted(conflicts)} (kept)")
    problems: list[dict[str, str | None]] = []
    for i, result in enumerate(results):
        if result.outcome.accepted:
            continue
        if result.outcome is LabelOutcome.UNKNOWN:
            problem = f"unknown transaction id '{result.transaction_id}'"
        else:
            recorded = label_name(not result.is_fraud)
            problem = f"'{result.transaction_id}' is already labelled {recorded}; not changed"
        problems.append({"field": f"labels[{i}].transaction_id", "problem": problem})
    return "; ".join(parts), problems


def feedback_document(results: Sequence[LabelResult]) -> dict[str, Any]:
    tally = Tally(result.outcome for result in results)
    return {
        "results": [
            {"transaction_id": r.transaction_id, "label": label_name(r.is_fraud), "outcome": r.outcome.value}
            for r in results
        ],
        "counts": {outcome.value: tally[outcome] for outcome in LabelOutcome},
    }


def count_labels(results: Sequence[LabelResult]) -> None:
    for (is_fraud, outcome), n in Tally((r.is_fraud, r.outcome) for r in results).items():
        FEEDBACK_LABELS.labels(label_name(is_fraud), outcome.value).inc(n)


def _quoted(ids: list[str]) -> str:
    named = ", ".join(f"'{transaction_id}'" for transaction_id in ids[:IDS_NAMED])
    return named + (f" and {len(ids) - IDS_NAMED} more" if len(ids) > IDS_NAMED else "")
