"""Operator endpoints for clients with the `admin` scope (or FRAUD_ADMIN_TOKEN): reload the champion,
request a retrain, list versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.serving.champion_loader import ChampionLoader, RefreshFailure
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.domain.clients import Scope
from fraud_detection.entrypoints.api import dependencies
from fraud_detection.entrypoints.api.repeated_keys import json_body
from fraud_detection.entrypoints.api.routes.model import model_info
from fraud_detection.entrypoints.api.schemas import (
    SMALL_BODY,
    ErrorOut,
    ModelVersionOut,
    ReloadFailedOut,
    ReloadOut,
    RetrainIn,
    RetrainOut,
    body_refusals,
)
from fraud_detection.entrypoints.api.security import require_scope

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses={
        401: {"model": ErrorOut, "description": "Missing or wrong bearer token."},
        403: {
            "model": ErrorOut,
            "description": "No `admin` scope, or admin disabled (no token, no admin client).",
        },
        503: {"model": ErrorOut, "description": "The registry is unreachable."},
    },
)


# A reload that did not load the registry's champion is a 5xx, so `curl -f` in a deploy script fails on it:
# 503 when the registry is down or failing, or has no champion yet (retry later), 502 when it served an
# artifact the API refuses.
RELOAD_FAILED = {RefreshFailure.REGISTRY: 503, RefreshFailure.NO_CHAMPION: 503, RefreshFailure.MODEL: 502}
# Longest wait for a refresh already under way (the poller's) before answering 503: behind one stuck on a
# registry that accepts and never answers, a reload took 2-4 min, past a load balancer's idle timeout (60 s).
RELOAD_QUEUE_SECONDS = 10.0


@router.post(
    "/model/reload",
    response_model=ReloadOut,
    responses={
        502: {"model": ReloadFailedOut, "description": "The champion's artifact was refused."},
        503: {
            "model": ReloadFailedOut,
            "description": "The registry is unreachable or failing, or no version is champion yet.",
        },
    },
)
def reload_model(
    loader: ChampionLoader = Depends(dependencies.loader),
    holder: ModelHolder = Depends(dependencies.holder),
) -> Any:
    """Load the current champion now (the poller would within FRAUD_MODEL_POLL_SECONDS)."""
    outcome = loader.refresh(wait=RELOAD_QUEUE_SECONDS)
    serving = holder.current
    model = model_info(serving, loader.registry_reachable) if serving else None
    if outcome.failure is not None:
        error = f"reload failed: {outcome.detail}"
        failed = ReloadFailedOut(error=error, changed=outcome.changed, model=model)
        return JSONResponse(failed.model_dump(mode="json"), RELOAD_FAILED[outcome.failure])
    return {"changed": outcome.changed, "detail": outcome.detail, "model": model}


@router.post(
    "/retrain",
    response_model=RetrainOut,
    status_code=202,
    dependencies=[Depends(json_body)],
    responses=body_refusals(SMALL_BODY)
    | {409: {"model": ErrorOut, "description": "A retrain already runs on this host: none is started."}},
)
def retrain(
    request: RetrainIn | None = None,
    request_retrain: RequestRetrain = Depends(dependencies.retrain),
) -> dict[str, Any]:
    """Publish RetrainRequested; whatever subscribes (an EventBridge rule, the local flow) trains. 409 when a
    local retrain runs already (the embedded mode): the request would start nothing."""
    event = request_retrain((request or RetrainIn()).reason)
    return {"event": event.kind, "reason": event.reason, "occurred_at": event.occurred_at}


@router.get("/models", response_model=list[ModelVersionOut])
def registered_models(
    admin: ModelAdministration = Depends(dependencies.model_admin),
) -> list[dict[str, Any]]:
    return [
        {"version": v.version, "aliases": list(v.aliases), "registered_at": v.created_at, "run_id": v.run_id,
         "tags": v.tags}
        for v in admin.list_versions()
    ]  # fmt: skip
