"""`drift_check`: the scheduled drift check (see prefect.yaml). When the model is at risk the use case
publishes DriftDetected (input drift alone is only reported); what subscribes (an EventBridge rule on AWS,
the local retrain launcher) retrains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dependency_injector.wiring import Provide, inject
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from fraud_detection.application.drift.check import CheckDrift, DriftWindowSpec
from fraud_detection.container import Container
from fraud_detection.flows.training import retry_unless_bad_input
from fraud_detection.flows.wiring import injected
from fraud_detection.settings import Settings


@task(
    name="check-drift",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_unless_bad_input,
)
def check_window(check: CheckDrift, spec: DriftWindowSpec, publish: bool) -> dict[str, Any]:
    outcome = check(spec, publish=publish)
    return outcome.report.to_dict() | {"location": outcome.location}


@inject
def _provided(
    make: Callable[[], CheckDrift] = Provide[Container.check_drift.provider],
    settings: Settings = Provide[Container.settings],
) -> tuple[Callable[[], CheckDrift], Settings]:
    return make, settings


def new_check() -> tuple[CheckDrift, Settings]:
    """As `flows.training.new_pipeline`: a worker that loaded this file by path wires it here."""
    make, settings = injected(_provided, __name__)
    return make(), settings


@flow(name="drift_check", validate_parameters=True)
def drift_check(
    hours: float | None = None, last_rows: int | None = None, publish: bool = True
) -> dict[str, Any]:
    """Check predictions captured in the last `hours` (default FRAUD_DRIFT_WINDOW_HOURS), optionally only
    the latest `last_rows` of them; returns the stored report."""
    check, settings = new_check()
    hours = settings.drift_window_hours if hours is None else hours
    spec = DriftWindowSpec.last_hours(hours, last_rows=last_rows)
    return check_window(check, spec, publish)
