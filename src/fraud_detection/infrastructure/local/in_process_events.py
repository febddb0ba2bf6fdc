"""Events delivered to subscribers in this process and logged (the embedded mode has no bus)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable

from fraud_detection.domain.events import DomainEvent
from fraud_detection.domain.ports.events import EventPublisher

logger = logging.getLogger(__name__)

Handler = Callable[[DomainEvent], None]


class InProcessPublisher(EventPublisher):
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.published: list[DomainEvent] = []

    def subscribe(self, kind: str, handler: Handler) -> None:
        self._handlers[kind].append(handler)

    def publish(self, event: DomainEvent) -> None:
        self.published.append(event)
        logger.info("event %s %s", event.kind, json.dumps(event.payload(), default=str))
        for handler in self._handlers[event.kind]:
            handler(event)
