"""How the flows turn use cases into Prefect tasks: one retry policy, and one task per pipeline stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prefect import State, Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun

from fraud_detection.application.pipeline import PipelineSession
from fraud_detection.application.pipeline_stages import STAGES, Stage, run_stages
from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.domain.errors import FraudDetectionError, ServiceUnavailableError

R = TypeVar("R")
IO_RETRIES = 2
STAGE_RETRY_DELAY_SECONDS = 2.0
# The pipeline's stages that run as `io_task`s, by the names the progress lines use.
RETRIED_STAGES = frozenset({"ingest", *(stage.name for stage in STAGES if stage.retried)})


def retryable(error: object) -> bool:
    """I/O failures (a flaky S3 or MLflow server), never bad input or memory running out: either would
    fail the same way (a scale probe saw ingest of 2.85M rows run out of memory three times in a row)."""
    if isinstance(error, MemoryError):
        return False
    return isinstance(error, ServiceUnavailableError) or not isinstance(error, FraudDetectionError)


def retry_unless_bad_input(task: Task[..., object], task_run: TaskRun, state: State[object]) -> bool:
    return retryable(state.result(raise_on_failure=False))


def stage_retry_delay(stage: str, error: BaseException, failures: int) -> float | None:
    """Seconds before a pipeline stage's `failures`-th failure is tried again, or None when it is final:
    the progress lines say "trying again" rather than print the same failure three times."""
    if stage in RETRIED_STAGES and failures <= IO_RETRIES and retryable(error):
        return STAGE_RETRY_DELAY_SECONDS
    return None


def io_task(
    name: str, delay_seconds: float = STAGE_RETRY_DELAY_SECONDS
) -> Callable[[Callable[..., R]], Task[..., R]]:
    """A task that reads or writes remote state: retried twice after an outage, never on bad input.
    Nothing is cached: tasks receive per-run objects, whose results must not be persisted."""

    def decorate(fn: Callable[..., R]) -> Task[..., R]:
        return task(
            name=name,
            cache_policy=NO_CACHE,
            retries=IO_RETRIES,
            retry_delay_seconds=delay_seconds,
            retry_condition_fn=retry_unless_bad_input,
        )(fn)

    return decorate


def _stage_task(stage: Stage) -> Task[..., object]:
    def run(session: PipelineSession, force: bool) -> object:
        return stage.run(session, force)

    run.__qualname__ = run.__name__ = f"stage_{stage.name}"
    if stage.retried:
        return io_task(stage.name)(run)
    return task(name=stage.name, cache_policy=NO_CACHE)(run)


_TASKS = {stage.name: _stage_task(stage) for stage in STAGES}


def run_stage_tasks(session: PipelineSession, force: bool) -> PipelineSummary:
    """Every pipeline stage in order, each as a Prefect task named after it."""
    return run_stages(session, force, lambda stage, session, force: _TASKS[stage.name](session, force))
