"""`EvaluateRollout`: gather the stage's evidence, judge it with the policy and, when asked to apply, move
the rollout (advance, or roll back on harm). The scheduled flow, `fraud rollout evaluate` and `fraud rollout
status` / `GET /admin/rollout` (apply=False) all call it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fraud_detection.application.rollout.control import Gather, moved_champion, transition
from fraud_detection.domain.errors import NoActiveRolloutError, RolloutConflictError
from fraud_detection.domain.model import CHAMPION
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.reports import Reports
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.reports import ROLLOUT
from fraud_detection.domain.rollout import (
    Action,
    RoleEvidence,
    Rollout,
    RolloutEvidence,
    RolloutPolicy,
    Stage,
    Verdict,
    judge,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RolloutDecision:
    """`rollout` is the state after the decision (moved when `applied`); `detail` one line for people."""

    rollout: Rollout
    evidence: RolloutEvidence
    verdict: Verdict
    applied: bool
    detail: str
    report: str | None = None  # where the evaluation was stored, when it was

    @property
    def judged(self) -> bool:
        """Whether an active rollout was judged (`rollout` is the state after: a roll-back ends it); False
        for one that was over already, which an evaluation only reports."""
        return self.applied or self.rollout.active

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout": self.rollout.to_dict(), "evidence": self.evidence.to_dict(),
            "verdict": self.verdict.to_dict(), "applied": self.applied, "detail": self.detail,
            "report": self.report,
        }  # fmt: skip


class EvaluateRollout:
    def __init__(
        self,
        store: RolloutStore,
        gather: Gather,
        policy: RolloutPolicy,
        registry: ModelRegistry,
        publisher: EventPublisher,
        reports: Reports | None = None,
    ) -> None:
        self._store, self._gather, self._policy = store, gather, policy
        self._registry, self._publisher, self._reports = registry, publisher, reports

    def __call__(self, apply: bool = True, now: float | None = None) -> RolloutDecision:
        """Raises `NoActiveRolloutError` when there never was a rollout; a finished one is reported as
        over (HOLD), with no evidence read."""
        rollout = self._store.load()
        if rollout is None:
            raise NoActiveRolloutError("no rollout yet; start one with `fraud rollout start VERSION`")
        moment = time.time() if now is None else now
        moved = self._champion_moved(rollout) if rollout.active else None
        if rollout.active and moved is None:
            evidence = self._gather(rollout, moment)
        else:
            evidence = RolloutEvidence(RoleEvidence(rollout.champion or 0), RoleEvidence(rollout.challenger))
        verdict = moved or judge(rollout, evidence, self._policy, moment)
        moves = verdict.action is not Action.HOLD and verdict.to is not None
        after, detail = rollout, _detail(rollout, verdict, apply)
        if not rollout.active:
            detail += self._moved_since(rollout)
        if apply and moves and verdict.to is not None:
            try:
                after = transition(rollout, verdict.to, verdict.percent, verdict.reason, moment, evidence,
                                   self._registry, self._store, self._publisher)  # fmt: skip
            except (
                RolloutConflictError
            ) as conflict:  # another actor moved it: theirs stands, next run decides
                moves, detail = False, f"{detail}; not applied: {conflict}"
        decision = RolloutDecision(after, evidence, verdict, apply and moves, detail)
        if apply and rollout.active:
            logger.info("rollout evaluation: %s", decision.detail)
            decision = self._stored(decision, moment)
        return decision

    def _moved_since(self, rollout: Rollout) -> str:
        """A note when the champion alias left where the ended rollout put it (a `fraud model rollback` or a
        promotion since): the status read "v3: champion" while v2 served."""
        left = rollout.challenger if rollout.stage is Stage.CHAMPION else rollout.champion
        serving = self._registry.get_by_alias(CHAMPION)
        now = f"v{serving.version}" if serving is not None else "no version"
        if left is None or (serving is not None and serving.version == left):
            return ""
        return f"; since then the champion alias moved from v{left} to {now}"

    def _champion_moved(self, rollout: Rollout) -> Verdict | None:
        """A roll-back when the champion alias moved outside the rollout: the evidence would compare the
        challenger with a model that no longer serves, and its last step would replace the newer champion."""
        serving = moved_champion(self._registry, rollout)
        if serving is None:
            return None
        if serving == rollout.challenger:  # its last step moved the alias and failed before saving: finish it
            reason = (
                f"v{rollout.challenger} already holds the champion alias (the promotion's state was not "
                "saved when the registry failed): completing the promotion"
            )
            return Verdict(Action.ADVANCE, Stage.CHAMPION, 0.0, reason, ())
        reason = (
            f"the champion alias moved outside the rollout, from v{rollout.champion} to v{serving}: "
            f"v{rollout.challenger} was judged against a model that no longer serves (start a rollout "
            f"against v{serving} to judge it again)"
        )
        return Verdict(Action.ROLL_BACK, Stage.ROLLED_BACK, 0.0, reason, ())

    def _stored(self, decision: RolloutDecision, now: float) -> RolloutDecision:
        if self._reports is None:
            return decision
        at = datetime.fromtimestamp(now, tz=UTC)
        name = f"{at:%Y%m%dT%H%M%S%fZ}-v{decision.rollout.challenger}"
        saved = self._reports.save(ROLLOUT, name, decision.to_dict() | {"evaluated_at": at.isoformat()})
        return RolloutDecision(
            decision.rollout,
            decision.evidence,
            decision.verdict,
            decision.applied,
            decision.detail,
            saved.uri,
        )


def _detail(rollout: Rollout, verdict: Verdict, apply: bool) -> str:
    where = f"canary {rollout.canary_percent:g}%" if rollout.canary_percent else str(rollout.stage)
    label = f"{rollout.model_name} v{rollout.challenger} ({where})"
    if verdict.action is Action.HOLD:
        return f"{label} holds: {verdict.reason}"
    target = f"canary {verdict.percent:g}%" if verdict.percent else str(verdict.to)
    verb = "moved" if apply else "would move"
    return f"{label} {verb} to {target} ({verdict.action}): {verdict.reason}"
