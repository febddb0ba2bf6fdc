"""The FastAPI application factory (`uvicorn --factory fraud_detection.entrypoints.api.app:create_app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fraud_detection import __version__
from fraud_detection.container import Container, bootstrap
from fraud_detection.entrypoints.api import errors
from fraud_detection.entrypoints.api.middleware import BodySizeLimit, RequestMetrics
from fraud_detection.entrypoints.api.routes import admin, health, model, scoring


def create_app(container: Container | None = None) -> FastAPI:
    """Build the app around `container` (default: one built from the environment and wired here)."""
    container = container or bootstrap()
    settings = container.settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = container.serving_runtime()
        runtime.start()  # loads the champion (or the local copy); the app starts even without one
        try:
            yield
        finally:
            runtime.stop()  # SIGTERM lands here: captured predictions are flushed before exit

    app = FastAPI(
        title="Fraud scoring API",
        version=__version__,
        description="Scores card transactions with the champion model; admin endpoints need a bearer token.",
        lifespan=lifespan,
    )
    app.state.container = container
    for router in (scoring.router, model.router, admin.router, health.router):
        app.include_router(router)
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    return app
