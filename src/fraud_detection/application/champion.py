"""Moving the champion alias: what the promotion gate and an operator's promote and rollback share."""

from __future__ import annotations

from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHAMPION
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry

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
