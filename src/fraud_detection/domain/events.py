"""Domain events other parts of the system react to (retraining, reloading a model, alerts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class DomainEvent:
    kind: ClassVar[str] = "DomainEvent"
    occurred_at: str = field(default_factory=_now, kw_only=True)

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelRegistered(DomainEvent):
    kind: ClassVar[str] = "ModelRegistered"
    model_name: str
    version: int


@dataclass(frozen=True)
class ModelPromoted(DomainEvent):
    kind: ClassVar[str] = "ModelPromoted"
    model_name: str
    version: int
    previous_version: int | None
    reason: str


@dataclass(frozen=True)
class RetrainRequested(DomainEvent):
    kind: ClassVar[str] = "RetrainRequested"
    reason: str


@dataclass(frozen=True)
class DriftDetected(DomainEvent):
    """A drift check found the served model at risk (input drift alone never publishes this); subscribers
    retrain. `evidence` names what fired (score_distribution, alert_rate, outlier_pattern,
    estimated_precision, estimated_recall, realised_precision, realised_recall)."""

    kind: ClassVar[str] = "DriftDetected"
    model_name: str
    version: int
    evidence: tuple[str, ...]
    window_rows: int
    report: str  # where the report is stored
    reason: str


@dataclass(frozen=True)
class RolloutTransitioned(DomainEvent):
    """A challenger moved between rollout stages (shadow, canary p%, champion, rolled_back), by the policy
    or by an operator; `evidence` is what the decision saw (domain/rollout.py)."""

    kind: ClassVar[str] = "RolloutTransitioned"
    model_name: str
    version: int
    from_stage: str
    to_stage: str
    percent: float
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RolloutAbortRequested(DomainEvent):
    """A process that may only read the registry (the API on AWS, answering an operator or Alertmanager)
    asks for a roll-back it cannot write: a subscriber with the writer identity applies it (on AWS an
    EventBridge rule runs `fraud rollout abort` in the retrain task)."""

    kind: ClassVar[str] = "RolloutAbortRequested"
    model_name: str
    version: int
    reason: str
