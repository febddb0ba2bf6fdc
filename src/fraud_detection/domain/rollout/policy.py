"""Staged promotion: a challenger scores live traffic in shadow, then serves a canary share, then becomes
champion; or it is rolled back. The state, the policy that moves it, and the routing of canary rows.

Why a policy on live evidence and not the offline gate alone: the gate compares models on past rows; the
rollout compares them on the same live transactions, first without serving the challenger's answers
(shadow), then serving them to a small, stable share (canary), each step held until the evidence is in.

Realised quality is compared on the transactions both models scored and that have a matured label, as
paired counts: among the labelled frauds, those only the challenger caught against those only the champion
caught (and the same for false alarms). A difference is acted on only when it is beyond the tolerance with
confidence (a Wilson interval on the share of discordant pairs), so a handful of labels never rolls back
by chance; a challenger behind by more than the tolerance, not yet with confidence, holds for more labels.
Within tolerance is not enough to move on: the challenger must also be shown, with confidence, to rank the
labelled frauds no worse than the champion beyond a small margin (ranking.py says why and how).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from fraud_detection.domain.rollout.evidence import PairedLabels, RoleEvidence, RolloutEvidence, wilson
from fraud_detection.domain.rollout.ranking import ranking_difference
from fraud_detection.domain.rollout.state import Rollout, Stage


class Action(StrEnum):
    HOLD = "hold"
    ADVANCE = "advance"
    ROLL_BACK = "roll_back"


@dataclass(frozen=True)
class RolloutPolicy:
    """When a rollout may move on, and when it must stop. Defaults suit a service scoring tens of
    transactions a second with labels maturing over days; `fraud config` lists the settings."""

    min_shadow_hours: float = 24.0
    min_shadow_rows: int = 10_000
    min_labels: int = 2_000  # matured labels on transactions both models scored
    min_frauds: int = 20  # frauds among them
    canary_steps: tuple[float, ...] = (10.0, 50.0)  # percent of transactions, in order
    min_canary_hours: float = 6.0
    min_canary_rows: int = 2_000  # served by the challenger at the current step
    alert_rate_tolerance: float = 0.5  # |challenger / champion - 1| on the same transactions
    precision_tolerance: float = 0.05  # realised, challenger - champion, on the same labelled rows
    recall_tolerance: float = 0.05
    ranking_margin: float = 0.05  # budget-averaged recall, challenger - champion, shown above -margin
    max_error_rate: float = 0.01  # challenger scorings that failed or ran out of time
    max_latency_ratio: float = 2.0  # challenger / champion p99 of one-row scorings, once both served enough
    min_rows_for_rates: int = 1_000  # rows the alert rate, error rate and latency are judged on, at least
    confidence_z: float = 1.96  # two-sided 95%

    def __post_init__(self) -> None:
        steps = self.canary_steps
        if not steps or any(not 0 < step < 100 for step in steps) or list(steps) != sorted(set(steps)):
            raise ValueError("canary steps must be increasing percentages between 0 and 100 (exclusive)")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    harmful: bool = False  # failed in a way that rolls back (not merely "not enough yet")


@dataclass(frozen=True)
class Verdict:
    action: Action
    to: Stage | None  # the next stage for ADVANCE and ROLL_BACK
    percent: float
    reason: str
    checks: tuple[Check, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": str(self.action), "to": None if self.to is None else str(self.to),
            "percent": self.percent, "reason": self.reason,
            "checks": [asdict(check) for check in self.checks],
        }  # fmt: skip


def judge(rollout: Rollout, evidence: RolloutEvidence, policy: RolloutPolicy, now: float) -> Verdict:
    """Roll back on harm, advance when every requirement of the stage holds, hold otherwise."""
    if not rollout.active:
        return Verdict(
            Action.HOLD, None, rollout.canary_percent, f"the rollout is over ({rollout.stage})", ()
        )
    checks = (*_harm_checks(evidence, policy), *_progress_checks(rollout, evidence, policy, now))
    harmful = [check for check in checks if check.harmful]
    if harmful:
        reason = "; ".join(check.detail for check in harmful)
        return Verdict(Action.ROLL_BACK, Stage.ROLLED_BACK, 0.0, reason, checks)
    waiting = [check for check in checks if not check.passed]
    if waiting:
        return Verdict(
            Action.HOLD, None, rollout.canary_percent, "; ".join(c.detail for c in waiting), checks
        )
    if rollout.shadow_only and rollout.stage is Stage.SHADOW:
        reason = "shadow evidence complete; shadow only: `fraud rollout advance` serves a canary share"
        return Verdict(Action.HOLD, None, 0.0, reason, checks)
    to, percent = next_step(rollout, policy)
    return Verdict(Action.ADVANCE, to, percent, _advance_reason(to, percent, checks), checks)


def next_step(rollout: Rollout, policy: RolloutPolicy) -> tuple[Stage, float]:
    """Shadow -> the first canary step -> each larger step -> champion."""
    if rollout.stage is Stage.SHADOW:
        return Stage.CANARY, policy.canary_steps[0]
    larger = [step for step in policy.canary_steps if step > rollout.canary_percent]
    return (Stage.CANARY, larger[0]) if larger else (Stage.CHAMPION, 0.0)


def _advance_reason(to: Stage, percent: float, checks: tuple[Check, ...]) -> str:
    target = f"canary {percent:g}%" if to is Stage.CANARY else str(to)
    return f"to {target}: " + "; ".join(check.detail for check in checks)


def _harm_checks(evidence: RolloutEvidence, policy: RolloutPolicy) -> list[Check]:
    checks = []
    mine, theirs = evidence.challenger, evidence.champion
    attempted = mine.rows + mine.errors
    if attempted >= policy.min_rows_for_rates and mine.error_rate is not None:
        bad = mine.error_rate > policy.max_error_rate
        checks.append(
            Check(
                "error_rate",
                not bad,
                f"challenger error rate {mine.error_rate:.2%} (limit {policy.max_error_rate:.2%})",
                harmful=bad,
            )
        )
    if min(mine.rows, theirs.rows) >= policy.min_rows_for_rates and theirs.alert_rate:
        checks.append(_alert_rate_check(mine, theirs, policy))
    timed = min(mine.latency_rows, theirs.latency_rows) >= policy.min_rows_for_rates
    if timed and mine.latency_p99_ms is not None and theirs.latency_p99_ms:
        ratio = mine.latency_p99_ms / theirs.latency_p99_ms
        bad = ratio > policy.max_latency_ratio
        checks.append(
            Check(
                "latency",
                not bad,
                f"p99 {mine.latency_p99_ms:.1f} vs {theirs.latency_p99_ms:.1f} ms "
                f"(x{ratio:.2f}, limit x{policy.max_latency_ratio:g})",
                harmful=bad,
            )
        )
    checks.extend(_quality_checks(evidence.labels, policy))
    checks.append(_ranking_check(evidence.labels, policy))
    return checks


def _alert_rate_check(mine: RoleEvidence, theirs: RoleEvidence, policy: RolloutPolicy) -> Check:
    """Changed beyond the tolerance with confidence (the whole interval of the ratio outside it): roll back.
    Outside it on the point estimate only: hold for more rows. A stage's first thousand rows hold a handful
    of alerts, and a ratio of handfuls moves by more than the tolerance by chance. The interval combines each
    side's Wilson bounds (conservative, as for precision: the two alert sets overlap)."""
    mine_rate, theirs_rate = mine.alert_rate or 0.0, theirs.alert_rate or 0.0
    change, tolerance = mine_rate / theirs_rate - 1, policy.alert_rate_tolerance
    low_mine, high_mine = wilson(mine_rate, mine.rows, policy.confidence_z)
    low_theirs, high_theirs = wilson(theirs_rate, theirs.rows, policy.confidence_z)
    low = low_mine / high_theirs - 1
    high = high_mine / low_theirs - 1 if low_theirs > 0 else math.inf
    text = (
        f"alert rate {mine_rate:.3%} vs {theirs_rate:.3%} ({change:+.0%}, 95% {low:+.0%}..{high:+.0%}, "
        f"tolerance ±{tolerance:.0%})"
    )
    if high < -tolerance or low > tolerance:
        return Check("alert_rate", False, f"{text}: changed", harmful=True)
    outside = abs(change) > tolerance
    return Check("alert_rate", not outside, text + (": outside, not yet shown" if outside else ""))


def _quality_checks(labels: PairedLabels, policy: RolloutPolicy) -> list[Check]:
    """Worse beyond the tolerance with confidence (the whole interval below it): roll back. Behind by more
    than the tolerance but not yet with confidence: hold for more labels. Otherwise it passes; the stage's
    label minimums keep a handful of labels from deciding."""
    checks = []
    for name, difference, tolerance in (
        ("realised_recall", labels.recall_difference(policy.confidence_z), policy.recall_tolerance),
        ("realised_precision", labels.precision_difference(policy.confidence_z), policy.precision_tolerance),
    ):
        if difference is None:
            continue
        delta, low, high = difference
        text = (
            f"{name.replace('_', ' ')} {delta:+.3f} (95% {low:+.3f}..{high:+.3f}, tolerance -{tolerance:g})"
        )
        if high < -tolerance:
            checks.append(Check(name, False, f"{text}: worse", harmful=True))
        else:
            checks.append(
                Check(
                    name,
                    delta >= -tolerance,
                    text + ("" if delta >= -tolerance else ": behind, not yet shown"),
                )
            )
    return checks


def _ranking_check(labels: PairedLabels, policy: RolloutPolicy) -> Check:
    """Passes only when shown not worse beyond the margin; shown worse beyond it rolls back; holds
    otherwise, and with fewer ranked frauds than `min_frauds` (a normal interval on a handful misleads)."""
    ranked, rate = len(labels.fraud_alert_rates), labels.champion_alert_rate
    if ranked < max(policy.min_frauds, 2) or not rate:
        return Check("ranking", False, f"ranking: {ranked} ranked frauds (need {max(policy.min_frauds, 2)})")
    low_budget = max(0.0, 1 - policy.alert_rate_tolerance) * rate
    high_budget = (1 + policy.alert_rate_tolerance) * rate
    difference = ranking_difference(labels.fraud_alert_rates, low_budget, high_budget, policy.confidence_z)
    if difference is None:
        return Check("ranking", False, "ranking: no alert budget to compare at")
    (delta, low, high), margin = difference, policy.ranking_margin
    text = (
        f"recall at alert rates {low_budget:.2%}..{high_budget:.2%} {delta:+.3f} on {ranked} frauds "
        f"(95% {low:+.3f}..{high:+.3f}, margin -{margin:g})"
    )
    if high < -margin:
        return Check("ranking", False, f"{text}: ranks worse", harmful=True)
    shown = low >= -margin
    return Check("ranking", shown, text + ("" if shown else ": not yet shown not worse"))


def _progress_checks(
    rollout: Rollout, evidence: RolloutEvidence, policy: RolloutPolicy, now: float
) -> list[Check]:
    hours = (now - rollout.stage_since) / 3600
    if rollout.stage is Stage.SHADOW:
        labels = evidence.labels
        return [
            _at_least("shadow_hours", hours, policy.min_shadow_hours, "h in shadow"),
            _at_least(
                "shadow_rows", evidence.paired_rows, policy.min_shadow_rows, " transactions scored by both"
            ),
            _at_least("labels", labels.labelled, policy.min_labels, " matured labels"),
            _at_least("frauds", labels.frauds, policy.min_frauds, " labelled frauds"),
        ]
    return [
        _at_least("canary_hours", hours, policy.min_canary_hours, f"h at {rollout.canary_percent:g}%"),
        _at_least(
            "canary_rows", evidence.canary_rows, policy.min_canary_rows, " transactions served by the canary"
        ),
    ]


def _at_least(name: str, value: float, minimum: float, unit: str) -> Check:
    shown = f"{value:.1f}" if isinstance(value, float) else f"{value:,}"
    return Check(name, value >= minimum, f"{shown}{unit} (need {minimum:,g})")
