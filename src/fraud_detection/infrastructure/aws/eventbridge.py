"""Domain events as EventBridge events on a custom bus (source `fraud-detection`, detail-type = kind)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from fraud_detection.domain.errors import FraudDetectionError
from fraud_detection.domain.events import DomainEvent
from fraud_detection.domain.ports.events import EventPublisher

EVENT_SOURCE = "fraud-detection"


class EventPublishError(FraudDetectionError):
    """EventBridge refused an event."""


class EventBridgePublisher(EventPublisher):
    def __init__(self, bus_name: str, region: str, client: Any | None = None) -> None:
        self._bus = bus_name
        self._client = client or boto3.client("events", region_name=region)

    def publish(self, event: DomainEvent) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus,
                    "Source": EVENT_SOURCE,
                    "DetailType": event.kind,
                    "Detail": json.dumps(event.payload(), default=str),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise EventPublishError(
                f"EventBridge bus '{self._bus}' rejected {event.kind}: "
                f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
