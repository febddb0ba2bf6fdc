"""Generating data, training, the threshold, the promotion gate and dataset validation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

from fraud_detection.domain.gate_metrics import GATE_METRICS, GateMetric
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.settings.rules import check_above

SEED_MAX = 2**31 - 1  # LightGBM's seed is a C int; numpy's generator refuses negative seeds
MAX_TRAIN_THREADS = 1_024  # above the largest cloud machines (~450 vCPUs); far below OpenMP's failing counts
# The generator holds ~1 KB a row at its peak (2M rows: 2.0 GB): 10M rows is 10 GB, and a mistyped count
# (10**9) ended in numpy's "Unable to allocate 216 GiB" traceback, or in the OOM killer below that.
GENERATOR_MAX_ROWS = 10_000_000


class TrainingSettings(BaseSettings):
    generator_rows: int = Field(
        284_807, gt=0, le=GENERATOR_MAX_ROWS, description="Rows `fraud data generate` writes by default."
    )
    seed: int = Field(42, ge=0, le=SEED_MAX, description="Seed of the generator and of training.")
    review_cost: float = Field(
        5.0, ge=0, description="Cost of reviewing one alert (euros), for the threshold."
    )
    top_k: int = Field(100, gt=0, description="k of precision@k (alerts a team reviews per test period).")
    promotion_metric: GateMetric = Field(
        "auprc",
        description=f"Metric the promotion gate compares on rows neither model was fitted on: "
        f"{', '.join(GATE_METRICS)}.",
    )
    promotion_margin: float = Field(
        0.0, ge=0, lt=1, description="The challenger must beat the champion by more than this."
    )
    promotion_min_frauds: int = Field(
        20,
        ge=1,
        description="Fewest labelled frauds, new to the champion, the gate compares on; with fewer it keeps "
        "the champion (on a few frauds a worse model wins by chance: benchmarks/gate_evidence.py).",
    )
    promotion_min_confidence: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of bootstrap resamples of the gate's rows in which the challenger must be ahead "
        "(0: any lead promotes; every decision reports the share). On the real rows at 20 frauds, 0.8 cut "
        "the promotions of an equal challenger from 54% to 18%, and of a slightly better one from 72% to 31% "
        "(benchmarks/gate_evidence.py --min-confidence).",
    )
    promotion_mode: Literal["direct", "staged"] = Field(
        "direct",
        description="When the gate passes: `direct` makes the challenger champion; `staged` starts a shadow "
        "rollout against the champion (`fraud rollout`).",
    )
    train_folds: int = Field(
        3, ge=1, le=20, description="Time-ordered folds that choose the model and give out-of-time scores."
    )
    first_fit_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Earliest share of rows that is only fitted on (never scored out of fold).",
    )
    split_gap_seconds: float = Field(
        600.0, ge=0, description="Transactions dropped after each fold's last fitted row."
    )
    train_max_rounds: int = Field(2_000, gt=0, description="Upper bound of boosting rounds.")
    train_threads: int = Field(
        2,
        gt=0,
        le=MAX_TRAIN_THREADS,  # larger: OpenMP's allocation failed after ingest and validation had written
        description="Threads LightGBM uses.",
    )
    validation_min_rows: int = Field(
        1_000, gt=0, le=ValidationRules.max_rows, description="Fewest rows a dataset may have."
    )
    validation_fraud_rate_min: float = Field(0.0002, ge=0, lt=1, description="Lowest plausible fraud rate.")
    validation_fraud_rate_max: float = Field(
        0.05, gt=0, le=1, description="Highest plausible fraud rate (above the lowest)."
    )
    validation_amount_max: float = Field(100_000.0, gt=0, description="Largest plausible Amount.")
    validation_v_mean_max_stds: float = Field(
        ValidationRules.v_mean_max_stds,
        gt=0,
        le=100,
        description="Largest plausible absolute mean of a V column, in the full dataset's standard "
        "deviations of that column (real days reach ~0.5, 3,000 consecutive real rows ~1.05).",
    )
    code_commit: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{7,40}$",
        description="Git commit of this code, tagged on each training run (the image is built with it; in "
        "a git checkout the commit is read from it).",
    )

    @field_validator("promotion_metric", mode="before")
    @classmethod
    def _gate_metric(cls, value: object) -> object:
        """Only a metric the gate computes, higher-is-better (one list: domain/promotion.py)."""
        if value not in GATE_METRICS:
            raise ValueError(f"must be one of {', '.join(GATE_METRICS)}, got {value!r}")
        return value

    @field_validator("validation_fraud_rate_max")
    @classmethod
    def _fraud_rate_band(cls, value: float, info: ValidationInfo) -> float:
        return check_above(value, info, "validation_fraud_rate_min")
