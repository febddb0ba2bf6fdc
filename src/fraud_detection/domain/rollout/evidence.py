"""What a rollout decision sees: both models on the same live transactions, and the matured labels."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RoleEvidence:
    """One model's scores on the rollout's transactions since the stage began."""

    version: int
    rows: int = 0
    alerts: int = 0
    errors: int = 0  # scorings that failed or were dropped for time
    estimated_precision: float | None = None
    estimated_recall: float | None = None
    # The model's time for one row scored alone on the response path (served rows: the champion's, the
    # canary's), so both are timed on the same work; a batch's time per row falls with its size, and dark
    # scorings are batched across requests.
    latency_p99_ms: float | None = None
    latency_rows: int = 0  # the served one-row scorings `latency_p99_ms` is measured on

    @property
    def alert_rate(self) -> float | None:
        return self.alerts / self.rows if self.rows else None

    @property
    def error_rate(self) -> float | None:
        attempted = self.rows + self.errors
        return self.errors / attempted if attempted else None


@dataclass(frozen=True)
class PairedLabels:
    """Matured labels on transactions both models scored: the discordant counts decide."""

    labelled: int = 0
    frauds: int = 0
    caught_by_both: int = 0
    caught_by_challenger_only: int = 0
    caught_by_champion_only: int = 0
    false_alarms_of_challenger_only: int = 0
    false_alarms_of_champion_only: int = 0
    false_alarms_of_both: int = 0
    # The ranking evidence (domain/rollout/ranking.py), over every transaction both scored since the rollout
    # began: the champion's alert rate, and per labelled fraud the (challenger, champion) alert rate at which
    # it would be flagged.
    champion_alert_rate: float | None = None
    fraud_alert_rates: tuple[tuple[float, float], ...] = ()

    def recall(self, challenger: bool) -> float | None:
        own = self.caught_by_challenger_only if challenger else self.caught_by_champion_only
        return (self.caught_by_both + own) / self.frauds if self.frauds else None

    def precision(self, challenger: bool) -> float | None:
        caught = self.caught_by_both + (
            self.caught_by_challenger_only if challenger else self.caught_by_champion_only
        )
        alarms = self.false_alarms_of_both + (
            self.false_alarms_of_challenger_only if challenger else self.false_alarms_of_champion_only
        )
        return caught / (caught + alarms) if caught + alarms else None

    def recall_difference(self, z: float) -> tuple[float, float, float] | None:
        """Challenger minus champion recall with its interval (paired: only discordant frauds differ)."""
        if not self.frauds:
            return None
        return _paired_interval(self.caught_by_challenger_only, self.caught_by_champion_only, self.frauds, z)

    def precision_difference(self, z: float) -> tuple[float, float, float] | None:
        """Challenger minus champion precision, with an interval from each side's Wilson bounds (the two
        alert sets overlap, so this is conservative)."""
        mine, theirs = self.precision(True), self.precision(False)
        if mine is None or theirs is None:
            return None
        n_mine = (
            self.caught_by_both
            + self.caught_by_challenger_only
            + self.false_alarms_of_both
            + self.false_alarms_of_challenger_only
        )
        n_theirs = (
            self.caught_by_both
            + self.caught_by_champion_only
            + self.false_alarms_of_both
            + self.false_alarms_of_champion_only
        )
        low_mine, high_mine = wilson(mine, n_mine, z)
        low_theirs, high_theirs = wilson(theirs, n_theirs, z)
        return mine - theirs, low_mine - high_theirs, high_mine - low_theirs

    def to_dict(self) -> dict[str, Any]:
        """Without the per-fraud ranks (a rollout's history keeps this): their count stands for them."""
        counts = {key: value for key, value in asdict(self).items() if key != "fraud_alert_rates"}
        return counts | {
            "ranked_frauds": len(self.fraud_alert_rates),
            "challenger_recall": self.recall(True), "champion_recall": self.recall(False),
            "challenger_precision": self.precision(True), "champion_precision": self.precision(False),
        }  # fmt: skip


@dataclass(frozen=True)
class RolloutEvidence:
    """What the policy judges: both models on the same transactions of the current stage."""

    champion: RoleEvidence
    challenger: RoleEvidence
    paired_rows: int = 0  # transactions scored by both
    agreement: float | None = None  # share of paired transactions with the same decision
    score_correlation: float | None = None  # Spearman, on the paired transactions
    labels: PairedLabels = field(default_factory=PairedLabels)
    canary_rows: int = 0  # transactions whose served answer was the challenger's

    def to_dict(self) -> dict[str, Any]:
        def role(evidence: RoleEvidence) -> dict[str, Any]:
            return asdict(evidence) | {"alert_rate": evidence.alert_rate, "error_rate": evidence.error_rate}

        return {
            "champion": role(self.champion), "challenger": role(self.challenger),
            "paired_rows": self.paired_rows, "agreement": self.agreement,
            "score_correlation": self.score_correlation, "labels": self.labels.to_dict(),
            "canary_rows": self.canary_rows,
        }  # fmt: skip


def wilson(share: float, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion: sound for the few dozen frauds a rollout sees."""
    if trials <= 0:
        return 0.0, 1.0
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def _paired_interval(gains: int, losses: int, total: int, z: float) -> tuple[float, float, float]:
    """(gains - losses) / total with an interval: the discordant pairs split by a Wilson interval on the
    share that favour the challenger (the paired-proportion method of Newcombe, simplified)."""
    discordant = gains + losses
    delta = (gains - losses) / total
    if not discordant:
        return delta, 0.0, 0.0
    low, high = wilson(gains / discordant, discordant, z)
    return delta, (2 * low - 1) * discordant / total, (2 * high - 1) * discordant / total
