"""`quality_measure`: realised precision and recall of the served decisions, on a schedule (prefect.yaml),
so the fraud_realised_* gauges and the low-recall alert follow the labels as they arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dependency_injector.wiring import Provide, inject
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from fraud_detection.application.feedback import MeasureRealisedQuality
from fraud_detection.container import Container
from fraud_detection.flows.training import retry_unless_bad_input
from fraud_detection.flows.wiring import injected
from fraud_detection.settings import Settings


@task(
    name="measure-quality",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_unless_bad_input,
)
def measure(use_case: MeasureRealisedQuality, days: float) -> dict[str, Any]:
    stored = use_case(days)
    return {"latest": stored.latest_uri, "copy": stored.copy_uri}


@inject
def _provided(
    make: Callable[[], MeasureRealisedQuality] = Provide[Container.measure_quality.provider],
    settings: Settings = Provide[Container.settings],
) -> tuple[Callable[[], MeasureRealisedQuality], Settings]:
    return make, settings


@flow(name="quality_measure", validate_parameters=True)
def quality_measure(days: float | None = None) -> dict[str, Any]:
    """Measure over the last `days` of scoring (default FRAUD_QUALITY_WINDOW_DAYS) and store the report."""
    make, settings = injected(_provided, __name__)
    return measure(make(), days or settings.quality_window_days)
