"""`rollout_evaluation`: the scheduled judge of a staged promotion (see prefect.yaml). Each run asks the
rollout policy once whether the challenger holds, advances (shadow -> canary steps -> champion) or is rolled
back, and applies the verdict; the use case publishes RolloutTransitioned when the stage moves. The roll-back
alerts of observability/ act faster, between runs, through POST /admin/rollout/abort."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger

from fraud_detection.composition import get_container
from fraud_detection.domain.errors import NoActiveRolloutError
from fraud_detection.flows.tasks import io_task

if TYPE_CHECKING:
    from fraud_detection.application.rollout import EvaluateRollout, RolloutDecision


@io_task("evaluate-rollout", delay_seconds=10)
def evaluate(use_case: EvaluateRollout) -> RolloutDecision | None:
    """None when there never was a rollout. Judged again from the stored state on a retry, so a retry after a
    save that succeeded only holds."""
    try:
        return use_case(apply=True)
    except NoActiveRolloutError as error:
        get_run_logger().info("no rollout to evaluate: %s", error)
        return None


@flow(name="rollout_evaluation", validate_parameters=True)
def rollout_evaluation() -> dict[str, Any]:
    """Evaluate the active rollout once and apply the verdict; a no-op when none is active. Returns the
    decision (rollout, evidence, verdict, applied, detail)."""
    logger = get_run_logger()  # the run's logs: in the Prefect UI, with no logging configuration
    decision = evaluate(get_container().rollout.evaluate())
    if decision is None:
        return {"rollout": None, "applied": False, "detail": "no rollout"}
    if not decision.judged:
        rollout = decision.rollout
        logger.info("no active rollout, nothing to evaluate (v%s is %s)", rollout.challenger, rollout.stage)
        return decision.to_dict()
    logger.info("%s (%s)", decision.detail, "applied" if decision.applied else "nothing to apply")
    logger.info("rollout evidence: %s", decision.evidence.to_dict())
    return decision.to_dict()
