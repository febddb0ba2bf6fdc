"""Staged promotion's use cases: gather the live evidence, start / advance / abort a rollout, and evaluate
it under the policy (see domain/rollout for the states and the rules)."""

from fraud_detection.application.rollout.control import AbortRollout, AdvanceRollout, StartRollout
from fraud_detection.application.rollout.evaluate import EvaluateRollout, RolloutDecision
from fraud_detection.application.rollout.evidence import GatherEvidence
from fraud_detection.domain.errors import NoActiveRolloutError, RolloutRefusedError

__all__ = [
    "AbortRollout", "AdvanceRollout", "EvaluateRollout", "GatherEvidence", "NoActiveRolloutError",
    "RolloutDecision", "RolloutRefusedError", "StartRollout",
]  # fmt: skip
