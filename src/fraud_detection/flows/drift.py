"""`drift_check`: the scheduled drift check (see prefect.yaml). When the model is at risk the use case
publishes DriftDetected (input drift alone is only reported); what subscribes (an EventBridge rule on AWS,
the local retrain launcher) retrains. Before the check, the closed hours' capture files are merged
(`fraud capture compact`), as the drift Lambda does on AWS."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from fraud_detection.application.compaction import CompactCaptures
from fraud_detection.application.drift.check import CheckDrift, DriftWindowSpec
from fraud_detection.composition import get_container
from fraud_detection.domain.compaction import BUDGET_SECONDS, LOOKBACK_HOURS
from fraud_detection.flows.tasks import io_task


@io_task("check-drift", delay_seconds=5)
def check_window(check: CheckDrift, spec: DriftWindowSpec, publish: bool) -> dict[str, Any]:
    outcome = check(spec, publish=publish)
    return outcome.report.to_dict() | {"location": outcome.location}


@io_task("compact-captures", delay_seconds=5)
def compact_captures(compact: CompactCaptures) -> dict[str, int]:
    return compact(LOOKBACK_HOURS, BUDGET_SECONDS).to_dict()


@flow(name="drift_check", validate_parameters=True)
def drift_check(
    hours: float | None = None, last_rows: int | None = None, publish: bool = True
) -> dict[str, Any]:
    """Check predictions captured in the last `hours` (default FRAUD_DRIFT_WINDOW_HOURS), optionally only
    the latest `last_rows` of them; returns the stored report."""
    container = get_container()
    hours = container.settings().drift_window_hours if hours is None else hours
    spec = DriftWindowSpec.last_hours(hours, last_rows=last_rows)
    try:
        compact_captures(container.drift.compact())
    except Exception:  # upkeep: the check still runs, and the next hour retries
        get_run_logger().exception("capture compaction failed; checking drift anyway")
    return check_window(container.drift.check(), spec, publish)
