"""Operator endpoints for clients with the `admin` scope (or FRAUD_ADMIN_TOKEN): reload the champion,
request a retrain, list versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.domain.clients import Scope
from fraud_detection.entrypoints.api import dependencies
from fraud_detection.entrypoints.api.routes.model import model_info
from fraud_detection.entrypoints.api.schemas import (
    ErrorOut,
    ModelVersionOut,
    ReloadOut,
    RetrainIn,
    RetrainOut,
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


@router.post("/model/reload", response_model=ReloadOut)
def reload_model(
    loader: ChampionLoader = Depends(dependencies.loader),
    holder: ModelHolder = Depends(dependencies.holder),
) -> dict[str, Any]:
    """Load the current champion now (the poller would within FRAUD_MODEL_POLL_SECONDS)."""
    outcome = loader.refresh()
    serving = holder.current
    return {
        "changed": outcome.changed,
        "detail": outcome.detail,
        "model": model_info(serving, loader.registry_reachable) if serving else None,
    }


@router.post("/retrain", response_model=RetrainOut, status_code=202)
def retrain(
    request: RetrainIn | None = None,
    request_retrain: RequestRetrain = Depends(dependencies.retrain),
) -> dict[str, Any]:
    """Publish RetrainRequested; whatever subscribes (an EventBridge rule, the local flow) trains."""
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
