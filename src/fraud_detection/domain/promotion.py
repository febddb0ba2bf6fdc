"""The promotion gate: a challenger replaces the champion only when it is better by a margin."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    metric: str
    challenger_score: float
    champion_score: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "metric": self.metric,
            "challenger_score": self.challenger_score,
            "champion_score": self.champion_score,
        }


@dataclass(frozen=True)
class PromotionPolicy:
    """Compare on the same test rows: the challenger must exceed champion + `min_improvement` on `metric`
    (higher is better). With no champion, the challenger is promoted."""

    metric: str = "auprc"
    min_improvement: float = 0.0

    def decide(
        self, challenger: dict[str, float], champion: dict[str, float] | None, champion_label: str = ""
    ) -> PromotionDecision:
        score = challenger[self.metric]
        if champion is None:
            return PromotionDecision(True, "no champion yet", self.metric, score, None)
        incumbent = champion[self.metric]
        needed = incumbent + self.min_improvement
        comparison = (
            f"{self.metric} {score:.4f} vs champion {champion_label} {incumbent:.4f} "
            f"(needs > {needed:.4f}, margin {self.min_improvement:g}) on the same test rows"
        )
        if score > needed:
            return PromotionDecision(True, f"challenger better: {comparison}", self.metric, score, incumbent)
        return PromotionDecision(False, f"champion kept: {comparison}", self.metric, score, incumbent)
