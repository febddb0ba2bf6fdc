"""The promotion gate: champion and challenger scored on the same test rows, decision logged on both."""

from __future__ import annotations

from fraud_detection.application.evaluate import EvaluateModel
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelVersion
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.promotion import PromotionDecision, PromotionPolicy
from fraud_detection.domain.training import LabelledData

PREVIOUS_CHAMPION_TAG = "previous_champion"


class PromoteChallenger:
    def __init__(
        self,
        registry: ModelRegistry,
        policy: PromotionPolicy,
        evaluate: EvaluateModel,
        publisher: EventPublisher,
    ) -> None:
        self._registry = registry
        self._policy = policy
        self._evaluate = evaluate
        self._publisher = publisher

    def __call__(
        self, challenger: ModelVersion, challenger_metrics: dict[str, float], test: LabelledData
    ) -> PromotionDecision:
        champion = self._registry.get_by_alias(CHAMPION)
        decision = self._decide(challenger, challenger_metrics, champion, test)
        self._registry.set_tag(
            challenger.version, "promotion_decision", "promote" if decision.promote else "keep"
        )
        self._registry.set_tag(challenger.version, "promotion_reason", decision.reason)
        if decision.promote:
            set_champion(self._registry, self._publisher, challenger.version, decision.reason)
            self._registry.remove_alias(CHALLENGER)
        return decision

    def _decide(
        self,
        challenger: ModelVersion,
        challenger_metrics: dict[str, float],
        champion: ModelVersion | None,
        test: LabelledData,
    ) -> PromotionDecision:
        if champion is None or champion.version == challenger.version:
            return self._policy.decide(challenger_metrics, None)
        if champion.metadata is None or champion.metadata.feature_version != FEATURE_VERSION:
            built_for = champion.metadata.feature_version if champion.metadata else "unknown"
            score = challenger_metrics[self._policy.metric]
            reason = (
                f"champion v{champion.version} uses feature version {built_for}, this code computes "
                f"{FEATURE_VERSION}: it cannot be served or compared, so the challenger replaces it"
            )
            return PromotionDecision(True, reason, self._policy.metric, score, None)
        incumbent = self._registry.load_model(champion.version)
        evaluation = self._evaluate(incumbent, test, champion.metadata.threshold)
        return self._policy.decide(challenger_metrics, evaluation.metrics.as_dict(), f"v{champion.version}")


def set_champion(registry: ModelRegistry, publisher: EventPublisher, version: int, reason: str) -> int | None:
    """Move the champion alias, remembering the one it replaces so an operator can roll back."""
    previous = registry.get_by_alias(CHAMPION)
    previous_version = previous.version if previous and previous.version != version else None
    if previous_version is not None:
        registry.set_tag(version, PREVIOUS_CHAMPION_TAG, str(previous_version))
    registry.set_alias(CHAMPION, version)
    publisher.publish(ModelPromoted(registry.model_name, version, previous_version, reason))
    return previous_version
