"""The workers' Celery app: the shared configuration plus the batch tasks."""

from __future__ import annotations

from celery import Celery

from fraud_detection.infrastructure.celery import make_celery_app
from fraud_detection.settings import Settings
from fraud_detection.workers import (
    outage_lines,
    tasks,  # noqa: F401 - defines the shared tasks every app finalizes with
)


def create_worker_app(settings: Settings | None = None) -> Celery:
    """Settings from the environment by default; raises ValueError when FRAUD_BROKER_URL is unset."""
    outage_lines.install()
    return make_celery_app(settings or Settings())
