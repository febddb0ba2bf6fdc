"""Moving the champion alias: what the promotion gate and an operator's promote and rollback share."""

from __future__ import annotations

from collections.abc import Callable

from fraud_detection.domain.errors import RolloutRefusedError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHAMPION
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.rollout import Rollout

# Tag on the new champion naming the version it replaced: `fraud model rollback` walks back through these.
PREVIOUS_CHAMPION_TAG = "previous_champion"


def set_champion(registry: ModelRegistry, publisher: EventPublisher, version: int, reason: str) -> int | None:
    """Move the champion alias, remembering the one it replaces so an operator can roll back."""
    previous = registry.get_by_alias(CHAMPION)
    previous_version = previous.version if previous and previous.version != version else None
    if previous_version is not None:
        registry.set_tag(version, PREVIOUS_CHAMPION_TAG, str(previous_version))
    registry.set_alias(CHAMPION, version)
    publisher.publish(ModelPromoted(registry.model_name, version, previous_version, reason))
    return previous_version


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
