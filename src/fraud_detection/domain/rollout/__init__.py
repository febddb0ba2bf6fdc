"""Staged promotion: shadow, canary, champion or rolled back (see policy.py for the why)."""

from fraud_detection.domain.rollout.evidence import PairedLabels, RoleEvidence, RolloutEvidence, wilson
from fraud_detection.domain.rollout.policy import Action, Check, RolloutPolicy, Verdict, judge, next_step
from fraud_detection.domain.rollout.routing import CanaryRouter, routes_to_challenger
from fraud_detection.domain.rollout.state import (
    ACTIVE,
    HISTORY_KEPT,
    Role,
    Rollout,
    Stage,
    Transition,
    ensure_unchanged,
)

__all__ = [
    "ACTIVE", "HISTORY_KEPT", "Action", "CanaryRouter", "Check", "PairedLabels", "Role", "RoleEvidence",
    "Rollout", "RolloutEvidence", "RolloutPolicy", "Stage", "Transition", "Verdict", "ensure_unchanged",
    "judge", "next_step", "routes_to_challenger", "wilson",
]  # fmt: skip
