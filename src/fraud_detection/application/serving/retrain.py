"""Ask for a retrain: the event publisher carries it to whatever runs training (EventBridge rule, Prefect)."""

from __future__ import annotations

from fraud_detection.domain.events import RetrainRequested
from fraud_detection.domain.ports.events import EventPublisher


class RequestRetrain:
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def __call__(self, reason: str) -> RetrainRequested:
        event = RetrainRequested(reason)
        self._publisher.publish(event)
        return event
