"""Event publishers: in-process (embedded default) and AWS EventBridge."""

from fraud_detection.infrastructure.events.eventbridge import EventBridgePublisher
from fraud_detection.infrastructure.events.in_process import InProcessPublisher

__all__ = ["EventBridgePublisher", "InProcessPublisher"]
