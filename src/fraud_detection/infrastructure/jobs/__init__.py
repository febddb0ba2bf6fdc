"""Batch job records in the object store, and the embedded (in-process) job queue."""

from fraud_detection.infrastructure.jobs.in_process_queue import InProcessJobQueue
from fraud_detection.infrastructure.jobs.object_store_jobs import ObjectStoreJobStore

__all__ = ["InProcessJobQueue", "ObjectStoreJobStore"]
