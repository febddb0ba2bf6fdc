"""Watching the model in production: drift checks, label feedback, quality and retraining."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from fraud_detection.domain.windows import MAX_DAYS, MAX_WINDOW_HOURS
from fraud_detection.settings.rules import check_url

FEEDBACK_URL_SCHEMES = ("redis://", "rediss://", "unix://")


class MonitoringSettings(BaseSettings):
    drift_family_alpha: float = Field(
        0.01, gt=0, lt=1, description="Chance of a false alarm per check for each verdict (Bonferroni)."
    )
    drift_min_rows: int = Field(1_000, ge=2, description="Fewest captured rows a drift check decides on.")
    drift_min_psi: float = Field(
        0.05, ge=0, description="Smallest PSI that counts as input drift (a diagnostic) for a column."
    )
    drift_min_score_psi: float = Field(
        0.1, ge=0, description="Smallest score PSI that counts as evidence that the model is at risk."
    )
    drift_precision_tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Fall of the estimated precision (no labels) that puts the model at risk.",
    )
    drift_recall_tolerance: float = Field(
        0.02, ge=0, le=1, description="Fall of the estimated recall (no labels) that puts the model at risk."
    )
    drift_realised_tolerance: float = Field(
        0.10,
        ge=0,
        le=1,
        description="Fall of the realised precision or recall (labels) that puts it at risk.",
    )
    drift_window_hours: float = Field(
        24.0,
        gt=0,
        le=MAX_WINDOW_HOURS,
        description="Default drift-check window: predictions captured in the last N hours.",
    )

    feedback_url: str | None = Field(
        None,
        description="Label feedback store for several API replicas (redis://...); unset = SQLite "
        "`<home>/feedback.db` (one host).",
    )
    feedback_retention_days: float = Field(
        180.0,
        gt=0,
        lt=MAX_DAYS,  # larger overflowed Redis's EXPIRE (ids lost, labels half-written) or a traceback
        description="Days scored transaction ids and their labels are kept for feedback.",
    )
    feedback_batch_max: int = Field(1_000, gt=0, description="Most labels in one POST /v1/feedback call.")
    quality_window_days: float = Field(
        30.0,
        gt=0,
        lt=MAX_DAYS,  # as `fraud quality measure --days`: checked at start, naming the variable
        description="Default `fraud quality measure` window: transactions scored in the last N days.",
    )

    retrain_lookback_days: float = Field(
        30.0,
        gt=0,
        lt=MAX_DAYS,  # larger overflowed the retrain's datetime arithmetic: a traceback
        description="Captured, labelled transactions of the last N days join a retrain's data.",
    )
    retrain_on_events: bool = Field(
        True,
        description="Without an event bus: DriftDetected / RetrainRequested start `fraud retrain` locally.",
    )

    @field_validator("feedback_url", mode="before")
    @classmethod
    def _feedback_url(cls, value: object) -> object:
        """Empty means unset (SQLite); otherwise only a Redis URL is understood."""
        if value == "":
            return None
        if isinstance(value, str) and not value.startswith(FEEDBACK_URL_SCHEMES):
            schemes = ", ".join(FEEDBACK_URL_SCHEMES)
            raise ValueError(f"must start with one of {schemes} (or be empty for SQLite)")
        if isinstance(value, str):  # a bad port or no host failed each call, with a traceback
            socket = value.startswith("unix://")
            check_url(value, FEEDBACK_URL_SCHEMES, needs_host=not socket, needs_path=socket)
        return value
