"""Batch scoring jobs: files in and out under the configured roots, the queue that runs them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.inline import run_job
from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.patience import OutagePatience
from fraud_detection.application.batch.stalled import StalledJobs
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.composition.adapters import cache_key
from fraud_detection.domain.jobs import JobState
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.settings import Settings

# After its run and its failure each waited out an outage for minutes, an unrecorded job waits a minute
# more before running again: the store is likely still down, and each try logs a line.
RERUN_SECONDS = 60.0

if TYPE_CHECKING:
    from fraud_detection.domain.ports import ObjectStore
    from fraud_detection.domain.ports.jobs import BatchFiles, JobQueue


def make_batch_files(store: ObjectStore, settings: Settings) -> BatchFiles:
    from fraud_detection.infrastructure.arrow.batch import ParquetBatchFiles

    return ParquetBatchFiles(
        store,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.aws_region,
        scratch_dir=settings.home / "scratch",
        roots=settings.batch_roots,
    )


def make_model_accelerator(settings: Settings) -> ModelAccelerator:
    if not settings.model_compile:
        return ModelAccelerator()
    from fraud_detection.infrastructure.lightgbm.compiled import CompilingAccelerator

    return CompilingAccelerator(settings.home / "compiled-models", cache_key=cache_key(settings))


def make_job_queue(
    settings: Settings,
    steps: Callable[[], JobSteps],
    patience: OutagePatience,
    rerun_unrecorded: bool = False,
) -> JobQueue:
    """Celery (Redis) when FRAUD_BROKER_URL is set; otherwise jobs run on a thread of this process, riding
    out outages with `patience` as the workers' tasks do. `rerun_unrecorded` (a long-lived process: the
    API) runs a job again whose end could not be recorded, every RERUN_SECONDS until it ends.

    `steps` is called only when a job runs: the steps hold the model registry and LightGBM (~3 s of
    imports), which `fraud batch status`, `cancel` and `resume` never use."""
    if settings.broker_url:
        from fraud_detection.infrastructure.celery import CeleryJobQueue, make_celery_app

        return CeleryJobQueue(make_celery_app(settings))
    from fraud_detection.infrastructure.local.in_process_jobs import InProcessJobQueue

    rerun_after = RERUN_SECONDS if rerun_unrecorded else None

    def run(job_id: str, stop: threading.Event) -> JobState:
        return run_job(steps(), job_id, patience, stop)

    return InProcessJobQueue(run, rerun_after=rerun_after)


class Batch(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    batch_files = providers.Singleton(make_batch_files, adapters.object_store, settings)
    model_accelerator = providers.Singleton(make_model_accelerator, settings)
    job_models = providers.Singleton(JobModels, adapters.registry, model_accelerator)
    job_steps = providers.Singleton(
        JobSteps,
        adapters.job_store,
        batch_files,
        job_models,
        adapters.scoring_input,
        settings.provided.batch_chunk_rows,
        settings.provided.batch_run_renew_seconds,
    )
    outage_patience = providers.Object(OutagePatience())  # tests override it with one that does not wait
    job_queue = providers.Singleton(make_job_queue, settings, job_steps.provider, outage_patience)
    submit_job = providers.Factory(
        SubmitScoringJob,
        adapters.job_store,
        job_queue,
        settings.provided.batch_roots,
        settings.provided.batch_namespace_folders,
    )
    job_control = providers.Factory(
        JobControl,
        adapters.job_store,
        job_queue,
        batch_files,
        run_lost_seconds=settings.provided.batch_run_lost_seconds,
    )
    stalled_jobs = providers.Factory(
        StalledJobs, adapters.job_store, job_queue, run_lost_seconds=settings.provided.batch_run_lost_seconds
    )
