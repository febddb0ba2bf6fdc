"""The rollout state per model name: stage, canary share, and the transitions with their reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from fraud_detection.domain.errors import RolloutConflictError

HISTORY_KEPT = 20  # transitions kept with the state (the registry tag); every one is also published


class Stage(StrEnum):
    OFFLINE = "offline"  # registered, not scoring live traffic
    SHADOW = "shadow"  # scores every request off the response path; the champion's answer is served
    CANARY = "canary"  # its answer is served to `canary_percent` of transactions
    CHAMPION = "champion"  # promoted: the rollout is over
    ROLLED_BACK = "rolled_back"  # stopped: the champion serves everything again


ACTIVE = frozenset({Stage.SHADOW, Stage.CANARY})


class Role(StrEnum):
    """Who produced a captured score: the served champion, the challenger in the dark, or as canary."""

    CHAMPION = "champion"
    SHADOW = "shadow"
    CANARY = "canary"


@dataclass(frozen=True)
class Transition:
    from_stage: Stage
    to_stage: Stage
    percent: float  # canary share after the transition (0 outside canary)
    at: float  # Unix seconds
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"from_stage": str(self.from_stage), "to_stage": str(self.to_stage)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transition:
        return cls(Stage(data["from_stage"]), Stage(data["to_stage"]), float(data["percent"]),
                   float(data["at"]), str(data["reason"]), dict(data.get("evidence") or {}))  # fmt: skip


@dataclass(frozen=True)
class Rollout:
    """One challenger's way to champion, per model name. Every replica reads it from the registry."""

    model_name: str
    challenger: int
    champion: int | None  # the version serving when the rollout started
    stage: Stage
    started_at: float
    stage_since: float
    canary_percent: float = 0.0
    shadow_only: bool = False
    history: tuple[Transition, ...] = ()

    @property
    def active(self) -> bool:
        return self.stage in ACTIVE

    @property
    def where(self) -> str:
        """The stage for people: `canary 10%`, else the stage's name."""
        return f"canary {self.canary_percent:g}%" if self.stage is Stage.CANARY else str(self.stage)

    @classmethod
    def start(cls, model_name: str, challenger: int, champion: int | None, now: float,
              shadow_only: bool = False, reason: str = "started") -> Rollout:  # fmt: skip
        first = Transition(Stage.OFFLINE, Stage.SHADOW, 0.0, now, reason)
        return cls(model_name, challenger, champion, Stage.SHADOW, now, now, 0.0, shadow_only, (first,))

    @property
    def revision(self) -> tuple[int, float, float, str, float]:
        """What changes with every write: which rollout (challenger, start) and which step of it. Two reads
        with the same revision hold the same state, even once the stored history was compacted."""
        return self.challenger, self.started_at, self.stage_since, str(self.stage), self.canary_percent

    def moved(self, to: Stage, percent: float, reason: str, now: float,
              evidence: dict[str, Any] | None = None) -> Rollout:  # fmt: skip
        """The next state, with the transition recorded. Moving from a finished rollout is a bug of the
        caller: it raises."""
        if not self.active:
            raise ValueError(f"the rollout of v{self.challenger} is over ({self.stage})")
        percent = percent if to is Stage.CANARY else 0.0
        step = Transition(self.stage, to, percent, now, reason, evidence or {})
        return replace(self, stage=to, canary_percent=percent, stage_since=now,
                       history=(*self.history, step)[-HISTORY_KEPT:])  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name, "challenger": self.challenger, "champion": self.champion,
            "stage": str(self.stage), "started_at": self.started_at, "stage_since": self.stage_since,
            "canary_percent": self.canary_percent, "shadow_only": self.shadow_only,
            "history": [step.to_dict() for step in self.history],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollout:
        champion = data.get("champion")
        return cls(
            model_name=str(data["model_name"]), challenger=int(data["challenger"]),
            champion=None if champion is None else int(champion), stage=Stage(data["stage"]),
            started_at=float(data["started_at"]), stage_since=float(data["stage_since"]),
            canary_percent=float(data.get("canary_percent", 0.0)),
            shadow_only=bool(data.get("shadow_only", False)),
            history=tuple(Transition.from_dict(step) for step in data.get("history", ())),
        )  # fmt: skip


def ensure_unchanged(stored: Rollout | None, replacing: Rollout | None) -> None:
    """RolloutConflictError unless the stored state is still the one a caller read (`replacing`): a write
    decided on a state that has moved since would undo another actor's step (a roll-back, say)."""
    if (stored and stored.revision) != (replacing and replacing.revision):
        raise RolloutConflictError(
            f"the rollout changed while this ran: it is now {_described(stored)}; nothing was written, "
            "run it again to decide on the new state"
        )


def _described(rollout: Rollout | None) -> str:
    if rollout is None:
        return "gone"
    return f"v{rollout.challenger} in {rollout.where}"
