"""Staged promotion: the rollout policy (shadow, canary steps, tolerances) and the serving side's budgets."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

from fraud_detection.domain.rollout import RolloutPolicy
from fraud_detection.domain.windows import MAX_INTERVAL_SECONDS


class RolloutSettings(BaseSettings):
    rollout_min_shadow_hours: float = Field(
        24.0, ge=0, description="Least time a challenger spends in shadow."
    )
    rollout_min_shadow_rows: int = Field(
        10_000, ge=0, description="Fewest live transactions both models must score before a canary."
    )
    rollout_min_labels: int = Field(
        2_000, ge=0, description="Fewest matured labels on transactions both scored before a canary."
    )
    rollout_min_frauds: int = Field(
        20, ge=0, description="Fewest labelled frauds among them (at most the fewest labels)."
    )
    rollout_canary_steps: str = Field(
        "10,50", description="Canary shares in percent, in order (comma-separated), before champion."
    )
    rollout_min_canary_hours: float = Field(6.0, ge=0, description="Least time at each canary step.")
    rollout_min_canary_rows: int = Field(
        2_000, ge=0, description="Fewest transactions the canary must serve at each step."
    )
    rollout_alert_rate_tolerance: float = Field(
        0.5, gt=0, description="Largest relative change of the alert rate (challenger vs champion) tolerated."
    )
    rollout_precision_tolerance: float = Field(
        0.05, ge=0, le=1, description="Largest fall of realised precision (same labelled rows) tolerated."
    )
    rollout_recall_tolerance: float = Field(
        0.05, ge=0, le=1, description="Largest fall of realised recall (same labelled rows) tolerated."
    )
    rollout_ranking_margin: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Largest fall of recall at the champion's alert budgets (same labelled frauds) within "
        "which a challenger must be shown, with confidence, to be promoted.",
    )
    rollout_max_error_rate: float = Field(
        0.01, ge=0, le=1, description="Share of challenger scorings that may fail or run out of time."
    )
    rollout_max_latency_ratio: float = Field(
        2.0,
        gt=0,
        description="Largest challenger/champion ratio of the p99 model time of one-row scorings served, "
        "judged once each has 1,000 (so from a canary step on: in shadow the challenger serves none).",
    )
    rollout_poll_seconds: float = Field(
        10.0,
        gt=0,
        le=MAX_INTERVAL_SECONDS,  # larger overflowed the poller's wait
        description="How often each API replica re-reads the rollout state from the registry.",
    )
    # ~120 bytes of peak memory a captured row (benchmarks/captured_reads.py): 4M rows is ~0.5 GB next to
    # the API's ~350 MB, inside the dev task's 1 GB. The CLI (the retrain task, 8-16 GB) reads without it.
    rollout_status_max_rows: int = Field(
        4_000_000,
        ge=1,
        description="Most captured rows (served and shadow) the API reads to gather a rollout's evidence "
        "(GET /admin/rollout, an abort's evidence); beyond, the status comes without evidence, the abort "
        "is recorded without it. `fraud rollout status` has no limit.",
    )
    # 1 s, not 50 ms: the budget also paces the drains (a fifth of it, at most 125 ms). At 50 ms responses
    # drained every ~10 ms in small batches and the sweep woke 100 times a second. Off against shadow, same
    # runs (benchmarks/serve.py --rollout and A/B runs of 5 rounds): CPU per request 1.12-1.13x -> 1.03-1.13x
    # of no rollout, shadow p99 1.37x -> 1.21-1.27x, canary p99 1.33x -> 1.06-1.16x. Dark scores only need
    # to arrive, not to arrive at once: nothing waits for them.
    rollout_shadow_budget_ms: float = Field(
        1_000.0, gt=0, description="A shadow score not done this long after its request is dropped (counted)."
    )
    rollout_shadow_queue_max: int = Field(
        1_000, gt=0, description="Requests waiting for shadow scoring; beyond it they are dropped (counted)."
    )
    rollout_shadow_share: float = Field(
        1.0, gt=0, le=1, description="Share of requests the challenger scores in shadow (1 = every request)."
    )
    rollout_canary_dark_share: float = Field(
        0.1,
        gt=0,
        le=1,
        description="In canary, share of requests the model that did not answer also scores in the dark, "
        "pairing both on them (1 = every request).",
    )
    chaos_challenger_error_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="For game days and tests only: this share of challenger scorings fail on purpose, so the "
        "roll-back path can be exercised on real replicas (0 = never).",
    )
    chaos_challenger_delay_ms: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="For game days and tests only: every challenger scoring takes this much longer (ms), so "
        "the latency roll-back can be exercised on real replicas (0 = never).",
    )

    @field_validator("rollout_min_frauds")
    @classmethod
    def _frauds_among_labels(cls, value: int, info: ValidationInfo) -> int:
        """More frauds than labels can never be gathered: the rollout would wait in shadow forever."""
        labels = info.data.get("rollout_min_labels")
        if isinstance(labels, int) and value > labels:
            raise ValueError(f"must not exceed FRAUD_ROLLOUT_MIN_LABELS ({labels}), got {value}")
        return value

    @field_validator("rollout_canary_steps")
    @classmethod
    def _steps(cls, value: str) -> str:
        RolloutPolicy(canary_steps=canary_steps(value))  # raises ValueError naming the rule
        return value

    @property
    def rollout_policy(self) -> RolloutPolicy:
        return RolloutPolicy(
            min_shadow_hours=self.rollout_min_shadow_hours,
            min_shadow_rows=self.rollout_min_shadow_rows,
            min_labels=self.rollout_min_labels,
            min_frauds=self.rollout_min_frauds,
            canary_steps=canary_steps(self.rollout_canary_steps),
            min_canary_hours=self.rollout_min_canary_hours,
            min_canary_rows=self.rollout_min_canary_rows,
            alert_rate_tolerance=self.rollout_alert_rate_tolerance,
            precision_tolerance=self.rollout_precision_tolerance,
            recall_tolerance=self.rollout_recall_tolerance,
            ranking_margin=self.rollout_ranking_margin,
            max_error_rate=self.rollout_max_error_rate,
            max_latency_ratio=self.rollout_max_latency_ratio,
        )


def canary_steps(text: str) -> tuple[float, ...]:
    """ "10,50" -> (10.0, 50.0); "" -> () (no canary). A part that is not a number, or empty between two
    commas, raises ValueError naming it and the form (Python's "could not convert string to float: 'abc'"
    reached the user, and "10,,50" passed)."""
    if not text.strip():
        return ()
    steps = []
    for part in text.split(","):
        try:
            steps.append(float(part))
        except ValueError:
            raise ValueError(
                f"'{part.strip()}' is not a share in percent; give shares separated by commas, such as 10,50"
            ) from None
    return tuple(steps)
