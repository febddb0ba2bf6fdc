"""Publishing domain events (model promoted, retrain requested, drift detected)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fraud_detection.domain.events import DomainEvent


class EventPublisher(ABC):
    @abstractmethod
    def publish(self, event: DomainEvent) -> None: ...
