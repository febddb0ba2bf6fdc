"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.entrypoints.api import dependencies
from fraud_detection.entrypoints.api.schemas import Alive, Health
from fraud_detection.infrastructure.prometheus.dead_processes import forget_dead_processes

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Alive)
async def healthz(holder: ModelHolder = Depends(dependencies.holder)) -> dict[str, object]:
    """The process is alive, and the model version it serves (null before one is loaded: see /readyz)."""
    serving = holder.current
    return {"status": "ok", "model_version": serving.version.version if serving else None}


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(holder: ModelHolder = Depends(dependencies.holder)) -> JSONResponse:
    """Ready once a model is loaded: route traffic here only then."""
    serving = holder.current
    if serving is None:
        return JSONResponse({"status": "not ready", "reason": "no model loaded"}, status_code=503)
    return JSONResponse({"status": "ready", "model_version": serving.version.version})


# HEAD too: an uptime checker that sends HEAD got 405 and reported the service down. Out of the OpenAPI
# document, where a second operation of the same function would repeat its operation id.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Served as a plain route: mounting prometheus_client's ASGI app answers 307 to /metrics/. Gauges read
    from stored reports (drift, realised quality) come from `app.state.report_metrics`, apart from the
    process metrics, so they appear once even when several workers' samples are merged. A killed worker's
    live gauges are dropped first."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        forget_dead_processes(folder)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    reports: CollectorRegistry | None = getattr(request.app.state, "report_metrics", None)
    if reports is not None:
        body += generate_latest(reports)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
