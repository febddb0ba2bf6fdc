"""`training_pipeline`: ingest -> validate -> features -> train -> evaluate -> register -> promote.

Runs against Prefect's temporary local server when `PREFECT_API_URL` is unset and against a Prefect server
when it is set. Tasks receive the per-run pipeline objects, so results are not cached or persisted.
"""

from __future__ import annotations

from collections.abc import Callable

from dependency_injector.wiring import Provide, inject
from prefect import State, Task, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun

from fraud_detection.application.pipeline import PipelineSession, PipelineSummary, TrainingPipeline
from fraud_detection.container import Container
from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.domain.errors import FraudDetectionError, ServiceUnavailableError
from fraud_detection.flows.wiring import injected
from fraud_detection.settings import Settings


def retry_unless_bad_input(task: Task[..., object], task_run: TaskRun, state: State[object]) -> bool:
    """Retry I/O failures (a flaky S3 or MLflow server), never bad input: it would fail the same way."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, ServiceUnavailableError) or not isinstance(error, FraudDetectionError)


@task(
    name="ingest",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_unless_bad_input,
)
def ingest(pipeline: TrainingPipeline, source: str) -> DatasetRef:
    return pipeline.ingest(source)


@task(
    name="validate",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_unless_bad_input,
)
def validate(session: PipelineSession) -> None:
    session.validate()


@task(name="features", cache_policy=NO_CACHE)
def build_features(session: PipelineSession) -> None:
    session.build_features()


@task(name="train", cache_policy=NO_CACHE)
def train(session: PipelineSession) -> None:
    session.train()


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(session: PipelineSession) -> None:
    session.evaluate()


@task(name="register", cache_policy=NO_CACHE)  # not retried: a retry could register a second version
def register(session: PipelineSession) -> None:
    session.register()


@task(
    name="promote",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_unless_bad_input,
)
def promote(session: PipelineSession, force: bool = False) -> None:
    session.promote(force)


@inject
def _provided(
    make: Callable[[], TrainingPipeline] = Provide[Container.training_pipeline.provider],
    settings: Settings = Provide[Container.settings],
) -> tuple[Callable[[], TrainingPipeline], Settings]:
    return make, settings


def new_pipeline() -> tuple[TrainingPipeline, Settings]:
    """The container's per-run pipeline; a process nobody bootstrapped (a Prefect worker running a
    deployment) builds its container from the environment here."""
    make, settings = injected(_provided, __name__)
    return make(), settings


@flow(name="training_pipeline", validate_parameters=True)
def training_pipeline(source: str | None = None, force_promotion: bool = False) -> PipelineSummary:
    """Train a challenger on `source` (default: the configured dataset path) and run the promotion gate
    (`force_promotion`: promote even where the gate would keep the champion)."""
    pipeline, settings = new_pipeline()
    dataset = ingest(pipeline, source or str(settings.resolved_dataset_path))
    with pipeline.session(dataset) as session:
        validate(session)
        build_features(session)
        train(session)
        evaluate(session)
        register(session)
        promote(session, force_promotion)
    return session.summary
