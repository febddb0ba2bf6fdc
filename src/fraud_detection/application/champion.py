"""Moving the champion alias: what the promotion gate and an operator's promote and rollback share."""

from __future__ import annotations

from collections.abc import Callable

from fraud_detection.domain.champion_history import ChampionHistory
from fraud_detection.domain.errors import RolloutRefusedError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHAMPION, ModelVersion
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.rollout import Rollout

# Tag on the new champion naming the version it replaced, for people reading the registry; rollbacks
# follow CHAMPION_HISTORY_TAG, which a registry from before it lacks (then this tag starts the history).
PREVIOUS_CHAMPION_TAG = "previous_champion"
# Registered-model tag: every version that became champion, in order (domain/champion_history.py).
CHAMPION_HISTORY_TAG = "champion_history"


def set_champion(registry: ModelRegistry, publisher: EventPublisher, version: int, reason: str) -> int | None:
    """Move the champion alias, remembering the one it replaces so an operator can roll back."""
    previous = registry.get_by_alias(CHAMPION)
    previous_version = previous.version if previous and previous.version != version else None
    if previous_version is not None:
        registry.set_tag(version, PREVIOUS_CHAMPION_TAG, str(previous_version))
    history = stored_history(registry, previous)
    # The alias first: a history written ahead of a move that then failed would name a version that never
    # served as the one to go back to; a history behind the alias is mended by its next reader.
    registry.set_alias(CHAMPION, version)
    registry.set_model_tag(CHAMPION_HISTORY_TAG, history.promoted(version, previous_version).encode())
    publisher.publish(ModelPromoted(registry.model_name, version, previous_version, reason))
    return previous_version


def finish_champion_move(
    registry: ModelRegistry, publisher: EventPublisher, version: int, replaced: int | None, reason: str
) -> None:
    """Complete a `set_champion` whose alias moved but whose bookkeeping may not have (the registry failed
    in between): the previous-champion tag, the history (written once) and the event (again: consumers
    reload, which is idempotent)."""
    if replaced is not None:
        registry.set_tag(version, PREVIOUS_CHAMPION_TAG, str(replaced))
    history = ChampionHistory.parse(registry.get_model_tag(CHAMPION_HISTORY_TAG))
    if not history.versions or history.versions[-1] != version:
        registry.set_model_tag(CHAMPION_HISTORY_TAG, history.promoted(version, replaced).encode())
    publisher.publish(ModelPromoted(registry.model_name, version, replaced, reason))


def put_champion_back(
    registry: ModelRegistry,
    publisher: EventPublisher,
    target: int,
    history: ChampionHistory,
    replaced: int | None,
    reason: str,
) -> None:
    """The alias back on `target` with the history a rollback leaves, then the event: what `fraud model
    rollback` does, and a rollout undoing the promotion an abort overtook."""
    registry.set_alias(CHAMPION, target)
    registry.set_model_tag(CHAMPION_HISTORY_TAG, history.encode())
    publisher.publish(ModelPromoted(registry.model_name, target, replaced, reason))


def stored_history(registry: ModelRegistry, champion: ModelVersion | None) -> ChampionHistory:
    """The champion history as stored; for a registry from before it, what the champion's own
    `previous_champion` tag tells."""
    history = ChampionHistory.parse(registry.get_model_tag(CHAMPION_HISTORY_TAG))
    if history.versions or champion is None:
        return history
    previous = champion.tags.get(PREVIOUS_CHAMPION_TAG, "")
    earlier = (int(previous),) if previous.isdecimal() else ()
    return ChampionHistory((*earlier, champion.version))


# The registry's rollout state as stored now (RolloutStore.load), read where the champion alias may move.
RolloutState = Callable[[], Rollout | None]


def active_rollout_or_none(state: RolloutState | None) -> Rollout | None:
    rollout = state() if state is not None else None
    return rollout if rollout is not None and rollout.active else None


def rollout_holding_champion(state: RolloutState | None) -> str | None:
    """Why the champion alias may not move now, or None. While a rollout is active the alias moves only
    through it (its last step): moved under it, the rollout would go on judging its challenger against a
    champion that no longer serves (no paired rows: it holds until the stuck alert), and its promotion would
    replace the newer champion."""
    rollout = active_rollout_or_none(state)
    if rollout is None:
        return None
    against = f" against champion v{rollout.champion}" if rollout.champion is not None else ""
    return (
        f"a rollout of v{rollout.challenger}{against} is active ({rollout.where}), and the champion moves "
        "only through it; end it first with `fraud rollout abort`"
    )


def ensure_no_active_rollout(state: RolloutState | None, action: str) -> None:
    """Raise `RolloutRefusedError` naming `action` while a rollout holds the champion alias."""
    why = rollout_holding_champion(state)
    if why is not None:
        raise RolloutRefusedError(f"{action} refused: {why}")
