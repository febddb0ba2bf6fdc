"""`rollout_evaluation`: the scheduled judge of a staged promotion (see prefect.yaml). Each run asks the
rollout policy once whether the challenger holds, advances (shadow -> canary steps -> champion) or is rolled
back, and applies the verdict; the use case publishes RolloutTransitioned when the stage moves. The roll-back
alerts of observability/ act faster, between runs, through POST /admin/rollout/abort."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from prefect import flow

from fraud_detection.composition import get_container
from fraud_detection.domain.rollout import Rollout, RolloutEvidence, Verdict
from fraud_detection.flows.tasks import io_task

logger = logging.getLogger(__name__)


class RolloutDecision(Protocol):
    """What the evaluate use case returns (application layer); only what the flow reads."""

    @property
    def rollout(self) -> Rollout | None: ...
    @property
    def evidence(self) -> RolloutEvidence | None: ...
    @property
    def verdict(self) -> Verdict | None: ...
    @property
    def applied(self) -> bool: ...
    @property
    def detail(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...


class EvaluateRollout(Protocol):
    def __call__(self, apply: bool = True, now: float | None = None) -> RolloutDecision: ...


@io_task("evaluate-rollout", delay_seconds=10)
def evaluate(use_case: EvaluateRollout) -> RolloutDecision:
    """Judged again from the stored state on a retry, so a retry after a save that succeeded only holds."""
    return use_case(apply=True)


def describe(decision: RolloutDecision) -> str:
    """One line: which rollout, where it stands, what was decided and why."""
    rollout, verdict = decision.rollout, decision.verdict
    if rollout is None or not rollout.active or verdict is None:
        return f"no active rollout, nothing to evaluate ({decision.detail})"
    stage = f"canary {rollout.canary_percent:g}%" if rollout.canary_percent else str(rollout.stage)
    target = "" if verdict.to is None else f" to {verdict.to}"
    if verdict.to is not None and verdict.percent:
        target += f" {verdict.percent:g}%"
    applied = "applied" if decision.applied else "not applied"
    return (
        f"rollout of {rollout.model_name} v{rollout.challenger} ({stage}): {verdict.action}{target}, "
        f"{applied}: {verdict.reason}"
    )


@flow(name="rollout_evaluation", validate_parameters=True)
def rollout_evaluation() -> dict[str, Any]:
    """Evaluate the active rollout once and apply the verdict; a no-op when none is active. Returns the
    decision (rollout, evidence, verdict, applied)."""
    decision = evaluate(get_container().rollout.evaluate())
    logger.info("%s", describe(decision))
    if decision.evidence is not None:
        logger.info("rollout evidence: %s", decision.evidence.to_dict())
    return decision.to_dict()
