"""Batch jobs on Celery with a Redis broker: the app's configuration and the submitting side's `JobQueue`."""

from fraud_detection.infrastructure.celery.app import make_celery_app
from fraud_detection.infrastructure.celery.queue import CeleryJobQueue

__all__ = ["CeleryJobQueue", "make_celery_app"]
