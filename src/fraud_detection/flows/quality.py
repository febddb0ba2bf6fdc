"""`quality_measure`: realised precision and recall of the served decisions, on a schedule (prefect.yaml),
so the fraud_realised_* gauges and the low-recall alert follow the labels as they arrive."""

from __future__ import annotations

from typing import Any

from prefect import flow

from fraud_detection.application.feedback import MeasureRealisedQuality
from fraud_detection.composition import get_container
from fraud_detection.flows.tasks import io_task


@io_task("measure-quality", delay_seconds=5)
def measure(use_case: MeasureRealisedQuality, days: float) -> dict[str, Any]:
    stored = use_case(days)
    return {"latest": stored.latest_uri, "copy": stored.copy_uri}


@flow(name="quality_measure", validate_parameters=True)
def quality_measure(days: float | None = None) -> dict[str, Any]:
    """Measure over the last `days` of scoring (default FRAUD_QUALITY_WINDOW_DAYS) and store the report."""
    container = get_container()
    window = days if days is not None else container.settings().quality_window_days  # 0 is refused, not 30
    return measure(container.feedback.measure_quality(), window)
