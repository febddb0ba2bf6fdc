"""Operator actions on a rollout (start, advance, abort) and the one way any of them moves the state:
store it, move the champion alias when it reaches champion, publish `RolloutTransitioned`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fraud_detection.application.champion import (
    finish_champion_move,
    put_champion_back,
    set_champion,
    stored_history,
)
from fraud_detection.application.serving.compatibility import loadable
from fraud_detection.domain.errors import (
    FraudDetectionError,
    NoActiveRolloutError,
    RegistryAccessDeniedError,
    RolloutConflictError,
    RolloutRefusedError,
)
from fraud_detection.domain.events import RolloutAbortRequested, RolloutTransitioned
from fraud_detection.domain.model import CHAMPION
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.rollout import (
    Action,
    Rollout,
    RolloutEvidence,
    RolloutPolicy,
    Stage,
    ensure_unchanged,
    judge,
    next_step,
)

logger = logging.getLogger(__name__)
Gather = Callable[[Rollout, float], RolloutEvidence]


def active_rollout(store: RolloutStore) -> Rollout:
    rollout = store.load()
    if rollout is None:
        raise NoActiveRolloutError("no rollout yet; start one with `fraud rollout start VERSION`")
    if not rollout.active:
        raise NoActiveRolloutError(
            f"no active rollout: the last one, of v{rollout.challenger}, is over ({rollout.stage})"
        )
    return rollout


def compact_evidence(evidence: RolloutEvidence) -> dict[str, Any]:
    """The figures a transition keeps with the state (the registry tag has little room); the event carries
    the whole evidence."""
    mine, theirs, labels = evidence.challenger, evidence.champion, evidence.labels
    return {
        "paired_rows": evidence.paired_rows, "canary_rows": evidence.canary_rows,
        "agreement": _rounded(evidence.agreement), "score_correlation": _rounded(evidence.score_correlation),
        "challenger": [mine.rows, mine.alerts, mine.errors], "champion": [theirs.rows, theirs.alerts],
        "labels": [labels.labelled, labels.frauds, labels.caught_by_challenger_only,
                   labels.caught_by_champion_only, labels.false_alarms_of_challenger_only,
                   labels.false_alarms_of_champion_only],
    }  # fmt: skip


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def transition(
    rollout: Rollout,
    to: Stage,
    percent: float,
    reason: str,
    now: float,
    evidence: RolloutEvidence | None,
    registry: ModelRegistry,
    store: RolloutStore,
    publisher: EventPublisher,
) -> Rollout:
    """Champion alias first (a failure there leaves the rollout where it was), then the state, then the
    event. `rollout` is the state as read: if the store holds another one by now, RolloutConflictError and
    nothing moves (checked before the alias too, so a stale decision never promotes)."""
    with registry.champion_turn():  # from the check of the stored state to its save
        moved = rollout.moved(to, percent, reason, now, compact_evidence(evidence) if evidence else None)
        if to is Stage.CHAMPION:
            ensure_unchanged(store.load(), rollout)
            serving = moved_champion(registry, rollout)
            if serving == rollout.challenger:  # this move's alias landed, its state did not (registry failed)
                why = f"rollout: {reason}"
                finish_champion_move(registry, publisher, rollout.challenger, rollout.champion, why)
            elif serving is not None:
                raise RolloutRefusedError(
                    f"the champion alias moved outside the rollout, from v{rollout.champion} to v{serving}: "
                    f"v{rollout.challenger} does not replace a champion it was not judged against; "
                    "`fraud rollout abort`, then start a rollout against the new champion"
                )
            else:
                set_champion(registry, publisher, rollout.challenger, f"rollout: {reason}")
        try:
            store.save(moved, replacing=rollout)
        except RolloutConflictError:
            if to is Stage.CHAMPION:
                _undo_champion_move(rollout, store.load(), registry, publisher)
            raise
    _announce(rollout, moved, reason, evidence, publisher)
    return moved


def _undo_champion_move(
    rollout: Rollout,
    stored: Rollout | None,
    registry: ModelRegistry,
    publisher: EventPublisher,
    why: str | None = None,
) -> None:
    """The state changed between the check and the save while the alias moved to the challenger: an abort
    (or another actor's step) landed in between. Unless that change made the same promotion, the champion
    the rollout started against gets the alias back; before, the aborted challenger stayed champion while
    the rollout read rolled back."""
    same_move = (
        stored is not None and stored.challenger == rollout.challenger and stored.stage is Stage.CHAMPION
    )
    if same_move or rollout.champion is None:
        return
    current = registry.get_by_alias(CHAMPION)
    if current is None or current.version != rollout.challenger:
        return
    _, history = stored_history(registry, current).rollback(rollout.challenger, rollout.champion)
    why = (
        why
        or f"rollout of v{rollout.challenger} changed while it was promoted (now {_stage_of(stored)}): undone"
    )
    logger.warning("%s; champion back to v%d", why, rollout.champion)
    put_champion_back(registry, publisher, rollout.champion, history, rollout.challenger, why)


def _stage_of(rollout: Rollout | None) -> str:
    return "gone" if rollout is None else str(rollout.stage)


def _announce(
    rollout: Rollout, moved: Rollout, reason: str, evidence: RolloutEvidence | None, publisher: EventPublisher
) -> None:
    """The transition's event (with the full evidence) and log line."""
    publisher.publish(
        RolloutTransitioned(
            model_name=rollout.model_name, version=rollout.challenger, from_stage=str(rollout.stage),
            to_stage=str(moved.stage), percent=moved.canary_percent, reason=reason,
            evidence=evidence.to_dict() if evidence else {},
        )
    )  # fmt: skip
    logger.info(
        "rollout of %s v%d: %s -> %s (%s)",
        rollout.model_name, rollout.challenger, rollout.stage, moved.stage, reason,
    )  # fmt: skip


def moved_champion(registry: ModelRegistry, rollout: Rollout) -> int | None:
    """The version the champion alias names now, when it is not the one the rollout started against (moved
    by hand in MLflow's UI, by a promotion that raced the rollout's start, or, when it is the challenger, by
    this rollout's last step, whose state could not be saved after the alias moved)."""
    serving = registry.get_by_alias(CHAMPION)
    if rollout.champion is None or serving is None or serving.version == rollout.champion:
        return None
    return serving.version


class StartRollout:
    def __init__(self, registry: ModelRegistry, store: RolloutStore, publisher: EventPublisher) -> None:
        self._registry, self._store, self._publisher = registry, store, publisher

    def __call__(
        self,
        version: int,
        shadow_only: bool = False,
        now: float | None = None,
        reason: str = "started by an operator",
    ) -> Rollout:
        """Shadow for `version` against the current champion. Starting the rollout already active for the
        same version returns it unchanged (a retried command); asking it to be shadow-only when it is not
        (or the reverse) is refused: it was answered as done, and the policy went on to a canary."""
        loadable(self._registry, version, f"a rollout of v{version}")  # ModelNotFoundError naming it
        with self._registry.champion_turn():  # no promotion between reading the champion and the save
            return self._start(version, shadow_only, now, reason)

    def _start(self, version: int, shadow_only: bool, now: float | None, reason: str) -> Rollout:
        current = self._store.load()
        if current is not None and current.active:
            if current.challenger == version and current.shadow_only != shadow_only:
                kind = "shadow-only" if current.shadow_only else "not shadow-only"
                raise RolloutRefusedError(
                    f"the rollout of v{version} is already active ({current.where}) and {kind}; to change "
                    f"that, abort it (`fraud rollout abort`) and start it again"
                )
            if current.challenger == version:
                return current
            raise RolloutRefusedError(
                f"a rollout of v{current.challenger} is active ({current.where}); "
                "abort it first with `fraud rollout abort`"
            )
        champion = self._registry.get_by_alias(CHAMPION)
        if champion is None:
            raise RolloutRefusedError(
                f"no champion to compare v{version} with; "
                f"make it champion with `fraud model promote {version}`"
            )
        if champion.version == version:
            raise RolloutRefusedError(f"v{version} is already the champion")
        moment = time.time() if now is None else now
        rollout = Rollout.start(
            self._registry.model_name, version, champion.version, moment, shadow_only, reason
        )
        self._store.save(rollout, replacing=current)
        self._publisher.publish(
            RolloutTransitioned(
                model_name=rollout.model_name, version=version, from_stage=str(Stage.OFFLINE),
                to_stage=str(Stage.SHADOW), percent=0.0, reason=reason,
            )
        )  # fmt: skip
        logger.info("rollout of %s v%d started in shadow (champion v%d)", rollout.model_name, version,
                    champion.version)  # fmt: skip
        return rollout


class AdvanceRollout:
    """The operator's step forward (`next_step`: shadow -> first canary share -> ... -> champion), whatever
    the evidence says; the evidence at that moment is recorded with the transition when it can be read.
    An advance over the policy's roll-back verdict says so in its reason: the history shows the override."""

    def __init__(
        self,
        registry: ModelRegistry,
        store: RolloutStore,
        publisher: EventPublisher,
        policy: RolloutPolicy,
        gather: Gather | None = None,
    ) -> None:
        self._registry, self._store, self._publisher = registry, store, publisher
        self._policy, self._gather = policy, gather

    def __call__(self, reason: str = "advanced by an operator", now: float | None = None) -> Rollout:
        rollout = active_rollout(self._store)
        moment = time.time() if now is None else now
        to, percent = next_step(rollout, self._policy)
        evidence = _evidence_if_readable(self._gather, rollout, moment)
        if evidence is not None:
            verdict = judge(rollout, evidence, self._policy, moment)
            if verdict.action is Action.ROLL_BACK:
                logger.warning("v%d advanced against the policy's roll-back verdict: %s",
                               rollout.challenger, verdict.reason)  # fmt: skip
                reason = f"{reason} (over the policy's verdict to roll back: {verdict.reason})"
        return transition(rollout, to, percent, reason, moment, evidence, self._registry, self._store,
                          self._publisher)  # fmt: skip


@dataclass(frozen=True)
class AbortOutcome:
    """What an abort did: rolled back here (`rollout` is the new state), or handed to the registry's writer
    (`rollout` is the active state as read; `RolloutAbortRequested` was published)."""

    rollout: Rollout
    handed_off: bool


class AbortRollout:
    """Roll back now: the champion serves everything again. Never blocked by unreadable evidence."""

    def __init__(
        self,
        registry: ModelRegistry,
        store: RolloutStore,
        publisher: EventPublisher,
        gather: Gather | None = None,
    ) -> None:
        self._registry, self._store, self._publisher = registry, store, publisher
        self._gather = gather

    def __call__(
        self, reason: str = "aborted by an operator", now: float | None = None, version: int | None = None
    ) -> Rollout:
        """`version`: only if the active rollout is of that challenger, so a roll-back requested earlier and
        applied later (RolloutAbortRequested) never ends a newer rollout."""
        rollout = active_rollout(self._store)
        if version is not None and rollout.challenger != version:
            raise NoActiveRolloutError(
                f"the active rollout is of v{rollout.challenger}, not v{version}: nothing rolled back"
            )
        moment = time.time() if now is None else now
        # The roll-back is written first: gathering reads every capture file since the rollout began
        # (minutes over days of traffic), and a misbehaving canary must not serve meanwhile; a registry
        # that refuses the write refuses it before anything is read (`or_hand_off`).
        moved = rollout.moved(Stage.ROLLED_BACK, 0.0, reason, moment)
        with self._registry.champion_turn():
            self._store.save(moved, replacing=rollout)
            self._undo_landed_promotion(rollout, moved)
        evidence = _evidence_if_readable(self._gather, rollout, moment)  # the rows scored before `moment`
        if evidence is not None:
            moved = self._with_evidence(rollout, moved, reason, moment, evidence)
        _announce(rollout, moved, reason, evidence, self._publisher)
        return moved

    def _undo_landed_promotion(self, rollout: Rollout, moved: Rollout) -> None:
        if moved_champion(self._registry, rollout) == rollout.challenger:
            # A last `advance` stopped (killed, the registry failing) after the alias moved to the challenger
            # and before its state was saved: the abort said the champion was kept while the challenger
            # served everything. The state first, so an advance racing this abort sees the conflict.
            why = f"rollout of v{rollout.challenger} aborted after its promotion's alias move: undone"
            _undo_champion_move(rollout, moved, self._registry, self._publisher, why)

    def _with_evidence(
        self, rollout: Rollout, moved: Rollout, reason: str, moment: float, evidence: RolloutEvidence
    ) -> Rollout:
        """The roll-back's history entry with its evidence (a second write); left without it when that
        write fails (a new rollout started meanwhile, the store went down): the roll-back stands, and the
        event still carries the evidence."""
        recorded = rollout.moved(Stage.ROLLED_BACK, 0.0, reason, moment, compact_evidence(evidence))
        try:
            self._store.save(recorded, replacing=moved)
        except FraudDetectionError as error:
            logger.warning("roll-back of v%d recorded without its evidence: %s", rollout.challenger, error)
            return moved
        return recorded

    def or_hand_off(self, reason: str = "aborted by an operator", now: float | None = None) -> AbortOutcome:
        """Roll back here, or, when the registry refuses this identity the write (a read-only replica),
        publish `RolloutAbortRequested` for the writer instead of failing: an alert's roll-back must not be
        lost to the API's least privilege. Nothing was written before the refusal (the state is the first
        write of a roll-back)."""
        try:
            return AbortOutcome(self(reason, now), handed_off=False)
        except RegistryAccessDeniedError as error:
            rollout = active_rollout(self._store)
            logger.warning("rollback of v%d handed to the registry's writer: %s", rollout.challenger, error)
            self._publisher.publish(RolloutAbortRequested(rollout.model_name, rollout.challenger, reason))
            return AbortOutcome(rollout, handed_off=True)


def _evidence_if_readable(gather: Gather | None, rollout: Rollout, now: float) -> RolloutEvidence | None:
    if gather is None:
        return None
    try:
        return gather(rollout, now)
    except FraudDetectionError as error:  # a store down must not keep an operator from acting
        logger.warning("rollout evidence unreadable, transition recorded without it: %s", error)
        return None
