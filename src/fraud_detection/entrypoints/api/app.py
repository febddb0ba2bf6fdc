"""The FastAPI application factory (`uvicorn --factory fraud_detection.entrypoints.api.app:create_app`)."""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dependency_injector import providers
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from fraud_detection import __version__
from fraud_detection.application.batch.sweeper import Sweeper
from fraud_detection.application.rollout.evaluate import RolloutDecision
from fraud_detection.composition import Container, get_container
from fraud_detection.domain.reports import COMPACTION, DRIFT, QUALITY
from fraud_detection.entrypoints.api import errors
from fraud_detection.entrypoints.api.middleware import BatchAdmission, BodySizeLimit, RequestMetrics
from fraud_detection.entrypoints.api.routes import admin, feedback, health, jobs, model, rollout, scoring
from fraud_detection.entrypoints.api.schemas import (
    FEEDBACK_LABEL_MAX_BYTES,
    SMALL_BODY_MAX_BYTES,
    transaction_model,
)
from fraud_detection.entrypoints.api.security import Authenticate
from fraud_detection.entrypoints.api.shared_call import SharedCall
from fraud_detection.entrypoints.api.shutdown import GRACEFUL_SHUTDOWN_SECONDS
from fraud_detection.flows.orphan_guard import guard
from fraud_detection.infrastructure.prometheus.cached_read import CachedLatest
from fraud_detection.infrastructure.prometheus.clients_collector import ClientsCollector
from fraud_detection.infrastructure.prometheus.compaction_collector import CompactionCollector
from fraud_detection.infrastructure.prometheus.drift_collector import DriftCollector
from fraud_detection.infrastructure.prometheus.quality_collector import QualityCollector
from fraud_detection.settings import Settings


def show_application_logs() -> None:
    """uvicorn configures only its own loggers; give ours a handler so model loads and capture problems
    reach the service's output (once, and not when the host application already configured it)."""
    ours = logging.getLogger("fraud_detection")
    if not ours.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)


def report_metrics(container: Container) -> CollectorRegistry:
    """Gauges read from stored reports at scrape time (see routes/health.py `metrics`)."""
    registry, reports = CollectorRegistry(auto_describe=True), container.adapters.reports()
    registry.register(DriftCollector(CachedLatest(reports, DRIFT)))
    registry.register(QualityCollector(CachedLatest(reports, QUALITY)))
    registry.register(CompactionCollector(CachedLatest(reports, COMPACTION)))
    registry.register(ClientsCollector(container.serving.api_clients))
    return registry


def admin_token(settings: Settings) -> str | None:
    return settings.admin_token.get_secret_value() if settings.admin_token else None


# The routes whose bodies hold up to thousands of rows (FRAUD_SCORE_BATCH_MAX, FRAUD_FEEDBACK_BATCH_MAX).
BATCH_PATHS = frozenset({"/v1/score/batch", "/v1/feedback"})


def body_limits(settings: Settings) -> dict[str, int]:
    """The body limit of each batch route (every other route: SMALL_BODY_MAX_BYTES); FRAUD_MAX_BODY_BYTES
    caps them all. A full feedback call of FRAUD_FEEDBACK_BATCH_MAX labels fits its limit with room to spare
    (tests/integration/test_api_bodies.py sends one)."""
    feedback = SMALL_BODY_MAX_BYTES + settings.feedback_batch_max * FEEDBACK_LABEL_MAX_BYTES
    return {"/v1/score/batch": settings.max_body_bytes, "/v1/feedback": feedback}


def create_app(container: Container | None = None) -> FastAPI:
    """Build the app around `container` (default: this process's, built from the environment)."""
    show_application_logs()
    container = container or get_container()
    settings = container.settings()
    container.serving.api_clients()  # a malformed clients file or secret stops the start here, saying why
    # A retrain the API triggers locally (no event bus) runs detached: a request must not wait for training.
    container.adapters.retrain_launch.override(providers.Object("detach"))
    # Rollout evidence gathered here shares the process with the traffic: past FRAUD_ROLLOUT_STATUS_MAX_ROWS
    # captured rows a status comes without it (routes/rollout.py) instead of the task running out of memory.
    container.rollout.gather.add_kwargs(max_rows=settings.rollout_status_max_rows)
    # Embedded jobs (no broker) run here while the process lives: one whose end could not be recorded (the
    # store down past the retries) runs again later, or its record would read `running` for ever. The sweep
    # below does not cover it: it queues a job once per point of progress, and a long outage ends such a
    # rerun at the same point again.
    container.batch.job_queue.add_kwargs(rerun_unrecorded=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        supervisor = multiprocessing.parent_process()  # uvicorn's, under `fraud serve --workers N` (N > 1)
        if supervisor is not None and supervisor.pid is not None:
            # It stops gracefully (captures flushed) once the supervisor is gone, even SIGKILLed.
            guard(supervisor.pid, stop_seconds=GRACEFUL_SHUTDOWN_SECONDS + 5)
        runtime = container.serving.runtime()
        runtime.start()  # loads the champion (or the local copy); the app starts even without one
        sweeper = embedded_sweeper(container)
        # Everything imported and loaded so far lives as long as the process: move it out of the cyclic
        # GC's sight. Otherwise each full collection walks ~350k such objects, a ~180 ms stall under load
        # (benchmarks/serve_gc_tail.py: p99 92 ms -> ~30 ms).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            runtime.stop()  # SIGTERM lands here: captured predictions are flushed before exit
            if sweeper is not None:
                sweeper.stop()

    docs = settings.api_docs  # off by default: a map of every route is for operators, not the public
    app = FastAPI(
        title="Fraud scoring API",
        version=__version__,
        description="Scores card transactions with the champion model; every call but the probes, "
        "`/metrics`, `GET /v1/model` and these documentation pages needs an API client's key "
        "(`Authorization: Bearer <key>`) with the route's scope.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.container = container
    app.state.score_transactions = container.serving.score_transactions()  # the hot path skips per-request DI
    app.state.report_metrics = report_metrics(container)
    app.state.rollout_status = SharedCall[RolloutDecision]()  # one evidence gathering at a time
    # The limits of a transaction (FRAUD_VALIDATION_AMOUNT_MAX...) are this app's settings, as in batch jobs.
    app.state.transaction_model = transaction_model(container.adapters.scoring_input())
    app.state.batch_model = scoring.batch_model(settings.score_batch_max, app.state.transaction_model)
    scoring_router = scoring.build_router(app.state.batch_model, app.state.transaction_model)
    app.state.feedback_model = feedback.body_model(settings.feedback_batch_max)
    feedback_router = feedback.build_router(app.state.feedback_model)
    for router in (
        scoring_router,
        model.router,
        jobs.router,
        feedback_router,
        admin.router,
        rollout.router,
        health.router,
    ):
        app.include_router(router)
    # /v1/score runs as a plain Starlette route placed first: same endpoint function, without FastAPI's
    # per-request wrapper (~10% of throughput in benchmarks/serve.py). The FastAPI route of the same path
    # stays in the router for the OpenAPI document; requests never reach it.
    app.router.routes.insert(0, Route("/v1/score", scoring.score, methods=["POST"]))
    # /v1/score/batch likewise, so that its body is parsed off the event loop (scoring.score_batch).
    app.router.routes.insert(1, Route("/v1/score/batch", scoring.score_batch, methods=["POST"]))
    app.router.routes.insert(2, Route("/v1/feedback", feedback.feedback, methods=["POST"]))  # the same
    errors.install(app)
    # Each added around the last: metrics see every answer; authentication decides before any body is read;
    # a batch waits its turn (BatchAdmission) before its body is read; the size and time limits apply to the
    # bodies of authenticated callers, from their turn on.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        body_seconds=settings.api_body_seconds,
        path_limits=body_limits(settings),
        others_max_bytes=SMALL_BODY_MAX_BYTES,
    )
    app.add_middleware(
        BatchAdmission,
        paths=BATCH_PATHS,
        limit=settings.api_batch_concurrency,
        wait_seconds=settings.api_batch_wait_seconds,
    )
    clients = container.serving.api_clients
    app.add_middleware(Authenticate, clients=clients, admin_token=lambda: admin_token(settings))
    app.add_middleware(RequestMetrics)
    return app


def embedded_sweeper(container: Container) -> Sweeper | None:
    """In the embedded mode (no broker) this process runs the jobs submitted to it, and a restart left
    those it was running open, with nothing to run them: it looks for stalled jobs every
    FRAUD_BATCH_SWEEP_SECONDS, as each worker does, and runs them again from where their records stand.
    With a broker the workers sweep."""
    settings = container.settings()
    if settings.broker_url or settings.batch_sweep_seconds <= 0:
        return None
    sweeper = Sweeper(container.batch.stalled_jobs, settings.batch_sweep_seconds)
    sweeper.start()
    return sweeper
