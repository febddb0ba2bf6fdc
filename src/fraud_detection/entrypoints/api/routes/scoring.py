"""POST /v1/score and /v1/score/batch."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import numpy as np
from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from fraud_detection.application.serving.score import ScoredTransactions, ScoreTransactions
from fraud_detection.container import Container
from fraud_detection.entrypoints.api.errors import error_body
from fraud_detection.entrypoints.api.schemas import (
    BatchIn,
    BatchScoreOut,
    ErrorOut,
    ScoreOut,
    TransactionIn,
    inputs_matrix,
)
from fraud_detection.settings import Settings

router = APIRouter(prefix="/v1", tags=["scoring"])
ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "Body over FRAUD_MAX_BODY_BYTES."},
    422: {"model": ErrorOut, "description": "Invalid body: each problem names the field."},
    503: {"model": ErrorOut, "description": "No model loaded yet."},
}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
RequestIdHeader = Annotated[str | None, Header(alias="X-Request-ID", include_in_schema=False)]
Explain = Annotated[bool, Query(description="Return feature contributions for every row, not only alerts.")]


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token (it ends up in logs and files), else a new one."""
    return header if header is not None and REQUEST_ID.match(header) else uuid.uuid4().hex


@router.post("/score", response_model=ScoreOut, responses=ERRORS)
@inject
async def score(
    transaction: TransactionIn,
    explain: Explain = False,
    x_request_id: RequestIdHeader = None,
    scorer: ScoreTransactions = Depends(Provide[Container.score_transactions]),
) -> JSONResponse:
    """Score one transaction (async: ~50 us of CPU, cheaper on the event loop than a thread hop)."""
    request_id = request_id_from(x_request_id)
    inputs = np.array([transaction.inputs()], dtype=np.float64)
    time = np.array([np.nan if transaction.Time is None else transaction.Time])
    scored = scorer(inputs, time, (transaction.transaction_id,), request_id, explain)
    body = _item(scored, 0, transaction.transaction_id)
    body |= {"request_id": request_id, "threshold": scored.serving.threshold, "model": _model(scored)}
    return JSONResponse(body, headers={"X-Request-ID": request_id})


@router.post("/score/batch", response_model=BatchScoreOut, responses=ERRORS)
@inject
def score_batch(
    batch: BatchIn,
    explain: Explain = False,
    x_request_id: RequestIdHeader = None,
    scorer: ScoreTransactions = Depends(Provide[Container.score_transactions]),
    settings: Settings = Depends(Provide[Container.settings]),
) -> JSONResponse:
    """Score up to FRAUD_SCORE_BATCH_MAX transactions (a worker thread: a large batch must not stall the
    event loop that serves single scores)."""
    rows = batch.transactions
    if len(rows) > settings.score_batch_max:
        problem = f"{len(rows)} transactions exceed the limit of {settings.score_batch_max} per call"
        return JSONResponse(
            error_body("invalid request", [{"field": "transactions", "problem": problem}]), 422
        )
    request_id = request_id_from(x_request_id)
    inputs, times = inputs_matrix(rows)
    ids = tuple(row.transaction_id for row in rows)
    scored = scorer(inputs, times, ids, request_id, explain)
    body = {
        "request_id": request_id,
        "threshold": scored.serving.threshold,
        "model": _model(scored),
        "results": [_item(scored, i, ids[i]) for i in range(len(rows))],
    }
    return JSONResponse(body, headers={"X-Request-ID": request_id})


def _item(scored: ScoredTransactions, row: int, transaction_id: str | None) -> dict[str, Any]:
    reasons = scored.reasons.get(row)
    return {
        "transaction_id": transaction_id,
        "fraud_probability": float(scored.probabilities[row]),
        "decision": "fraud" if scored.decisions[row] else "legit",
        "top_contributions": None
        if reasons is None
        else [{"feature": name, "contribution": value} for name, value in reasons],
    }


def _model(scored: ScoredTransactions) -> dict[str, Any]:
    return {"name": scored.serving.version.name, "version": scored.serving.version.version}
