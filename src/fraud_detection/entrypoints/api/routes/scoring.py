"""POST /v1/score and /v1/score/batch."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, TypeVar

import numpy as np
import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from fraud_detection.application.serving.model_holder import ServingModel
from fraud_detection.application.serving.score import ScoredTransactions, ScoreTransactions
from fraud_detection.domain.clients import ApiClient, Scope
from fraud_detection.entrypoints.api.bodies import limited, parse_body, with_body
from fraud_detection.entrypoints.api.repeated_keys import fields_and_colons, refuse_repeated_keys
from fraud_detection.entrypoints.api.schemas import (
    BUSY,
    RETRY_AFTER,
    SMALL_BODY,
    BatchIn,
    BatchScoreOut,
    ErrorOut,
    Responses,
    ScoreOut,
    TransactionBase,
    body_refusals,
    inputs_matrix,
)
from fraud_detection.entrypoints.api.security import client_of, require_scope

ERRORS: Responses = {
    401: {"model": ErrorOut, "description": "Missing or unknown API key."},
    403: {"model": ErrorOut, "description": "The client lacks `score` (or `explain` for explain=true)."},
    422: {"model": ErrorOut, "description": "Invalid body: each problem names the field."},
    503: {"model": ErrorOut, "description": "No model loaded yet."},
}
BATCH_ERRORS: Responses = (
    ERRORS
    | body_refusals("FRAUD_MAX_BODY_BYTES")
    | {503: {"model": ErrorOut, "description": f"No model loaded yet, {BUSY}.", "headers": RETRY_AFTER}}
)
M = TypeVar("M", bound=BaseModel)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
REQUEST_ID_HELP = (
    "Echoed back and kept with the captured prediction when it is 1-64 characters of [A-Za-z0-9._:-]; "
    "otherwise (or when absent) a new id is generated."
)
RequestIdHeader = Annotated[str | None, Header(alias="X-Request-ID", description=REQUEST_ID_HELP)]
EXPLAIN_HELP = "Return feature contributions for every row, not only alerts (needs the `explain` scope)."
Explain = Annotated[bool, Query(description=EXPLAIN_HELP)]
FLAGS = dict.fromkeys(("true", "1", "yes", "on"), True) | dict.fromkeys(("false", "0", "no", "off"), False)
SCORE_PARAMETERS: list[dict[str, Any]] = [

        {"name": "explain", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
         "description": EXPLAIN_HELP},
        {"name": "X-Request-ID", "in": "header", "required": False, "schema": {"type": "string"},
         "description": REQUEST_ID_HELP},
]  # fmt: skip


class FastJSONResponse(JSONResponse):
    """orjson encodes a score response in ~0.2 us against ~4 us for the standard library (and a 10,000-row
    batch response ~15x faster); it also refuses NaN, as JSONResponse does."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token (it ends up in logs and files), else a new one."""
    return header if header is not None and REQUEST_ID.fullmatch(header) else uuid.uuid4().hex


def batch_model(batch_max: int, transaction: type[TransactionBase]) -> type[BaseModel]:
    """The app's batch body: at most FRAUD_SCORE_BATCH_MAX of its `transaction` model."""
    return limited(BatchIn, "transactions", batch_max, transaction)


def build_router(batch: type[BaseModel], transaction: type[TransactionBase]) -> APIRouter:
    """The scoring routes of one app, for its OpenAPI document: the app serves both paths with plain routes
    placed first (`score`, `score_batch`), which parse the body as these models (`schemas.transaction_model`,
    bounded by its settings), kept in `state.transaction_model` and `state.batch_model`."""
    body = {"required": True, "content": {"application/json": {"schema": transaction.model_json_schema()}}}
    router = APIRouter(prefix="/v1", tags=["scoring"], dependencies=[Depends(require_scope(Scope.SCORE))])
    router.add_api_route(
        "/score",
        score,
        methods=["POST"],
        response_model=ScoreOut,
        responses=ERRORS | body_refusals(SMALL_BODY),
        openapi_extra={"parameters": SCORE_PARAMETERS, "requestBody": body},
    )
    documented = with_body(batch_document, "batch", batch)
    router.add_api_route(
        "/score/batch", documented, methods=["POST"], response_model=BatchScoreOut, responses=BATCH_ERRORS
    )
    return router


async def score(request: Request) -> JSONResponse:
    """Score one transaction.

    The body is parsed by pydantic straight from the bytes, the query and header read by hand, and the use
    case taken from the app's container: FastAPI's per-parameter machinery (a `Depends`, a `Query`, a
    `Header`) cost ~15-20% of throughput each in benchmarks/serve.py. The OpenAPI document still describes
    the body, `explain` and X-Request-ID (`build_router`). Async: ~30 us of CPU, cheaper on the event loop
    than a thread hop.
    """
    client = client_of(request)  # authenticated by the middleware, before the body was read
    explain = parse_flag(request.query_params.get("explain", "false"), "explain")
    check_explain(client, explain)
    model: type[TransactionBase] = request.app.state.transaction_model
    raw = await request.body()
    transaction = parse_body(request.headers.get("content-type", ""), raw, model)
    # fields_and_colons, inlined for one row: ~1 us less
    colons = transaction.transaction_id.count(":") if transaction.transaction_id else 0
    refuse_repeated_keys(raw, len(transaction.model_fields_set), colons)
    request_id = request_id_from(request.headers.get("x-request-id"))
    scorer: ScoreTransactions = request.app.state.score_transactions
    inputs = np.array([transaction.inputs()], dtype=np.float64)
    time = np.array([np.nan if transaction.Time is None else transaction.Time])
    scored = scorer(inputs, time, client.scoped_ids((transaction.transaction_id,)), request_id, explain)
    body = _item(scored, 0, transaction.transaction_id)
    answered = scored.answered(0)  # the champion, or the challenger for a canary transaction
    body |= {"request_id": request_id, "threshold": answered.threshold, "model": _model(answered)}
    return FastJSONResponse(
        body, headers={"X-Request-ID": request_id}, background=_after(scorer, inline=True)
    )


def check_explain(client: ApiClient, explain: bool) -> None:
    """Contributions for every row answer "what would move this score": a model oracle, so its own scope."""
    if explain and not client.allows(Scope.EXPLAIN):
        raise HTTPException(
            403, f"client '{client.name}' lacks the 'explain' scope (needed for explain=true)"
        )


def parse_flag(value: str, name: str) -> bool:
    """A boolean query parameter, read as FastAPI's `bool` would be."""
    flag = FLAGS.get(value.lower())
    if flag is None:
        problem = {"type": "bool_parsing", "loc": ("query", name), "msg": "Input should be a valid boolean"}
        raise RequestValidationError([problem])
    return flag


async def score_batch(request: Request) -> JSONResponse:
    """Score up to FRAUD_SCORE_BATCH_MAX transactions. The body is read on the event loop, then parsed,
    validated and scored on a worker thread: ~7 MB of JSON for a full batch is ~0.2 s of CPU that, parsed
    by FastAPI on the loop, held every single score and probe behind it (benchmarks/serve_batch_load.py).
    `BatchAdmission` bounds how many run at once."""
    client = client_of(request)  # authenticated by the middleware, before the body was read
    explain = parse_flag(request.query_params.get("explain", "false"), "explain")
    check_explain(client, explain)
    raw = await request.body()
    return await run_in_threadpool(_score_batch, request, client, raw, explain)


def batch_document(
    batch: BatchIn, explain: Explain = False, x_request_id: RequestIdHeader = None
) -> BatchScoreOut:
    """Score up to FRAUD_SCORE_BATCH_MAX transactions (parsed and scored off the event loop, a bounded
    number at once per process: FRAUD_API_BATCH_CONCURRENCY)."""
    raise NotImplementedError  # the OpenAPI document's view of `score_batch`, which serves the path


def _score_batch(request: Request, client: ApiClient, raw: bytes, explain: bool) -> JSONResponse:
    body = parse_body(request.headers.get("content-type", ""), raw, request.app.state.batch_model)
    rows: list[TransactionBase] = body.transactions  # at most the app's limit
    fields, colons = fields_and_colons(rows)
    refuse_repeated_keys(raw, len(body.model_fields_set) + fields, colons)
    request_id = request_id_from(request.headers.get("x-request-id"))
    scorer: ScoreTransactions = request.app.state.score_transactions
    inputs, times = inputs_matrix(rows)
    ids = tuple(row.transaction_id for row in rows)
    scored = scorer(inputs, times, client.scoped_ids(ids), request_id, explain)
    body = {
        "request_id": request_id,
        "threshold": scored.serving.threshold,
        "model": _model(scored.serving),
        "canary": None
        if scored.challenger is None
        else {"model": _model(scored.challenger), "threshold": scored.challenger.threshold},
        "results": [
            _item(scored, i, ids[i]) | {"model_version": _version(scored, i)} for i in range(len(rows))
        ],
    }
    return FastJSONResponse(body, headers={"X-Request-ID": request_id}, background=_after(scorer))


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


def _after(scorer: ScoreTransactions, inline: bool = False) -> BackgroundTask | None:
    """The rollout's dark scorings, run once the response is on its way (application/serving/shadow.py).
    `inline`: on the event loop itself, for a single score's few microseconds of work (a plain function
    would go to the thread pool: a thread hop per request cost half the throughput in
    benchmarks/serve.py --rollout); a batch's dark scoring is larger: to the pool, as its request was."""
    work = scorer.dark_work()
    if work is None:
        return None
    if not inline:
        return BackgroundTask(work)

    async def on_the_loop() -> None:
        work()

    return BackgroundTask(on_the_loop)


def _model(serving: ServingModel) -> dict[str, Any]:
    return {"name": serving.version.name, "version": serving.version.version}


def _version(scored: ScoredTransactions, row: int) -> int:
    return scored.answered(row).version.version
