"""Ask for a retrain: the event publisher carries it to whatever runs training (EventBridge rule, Prefect)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fraud_detection.domain.errors import RetrainInProgressError
from fraud_detection.domain.events import RetrainRequested
from fraud_detection.domain.ports.events import EventPublisher


class RequestRetrain:
    """`busy`: whether a retrain runs that the request could not add to (the local one of the embedded
    mode; on AWS the retrain task itself stops when one runs). A request it refuses publishes nothing: the
    API answered 202 while only its log said no retrain started. Requests of one process take turns
    between the check and the publication (the local launcher starts its process within `publish`): two
    at once both passed the check, both answered 202, and the launcher dropped the second silently."""

    _turns = threading.Lock()  # a class's: the API makes one instance per request

    def __init__(self, publisher: EventPublisher, busy: Callable[[], bool] | None = None) -> None:
        self._publisher, self._busy = publisher, busy

    def __call__(self, reason: str) -> RetrainRequested:
        with self._turns:
            if self._busy is not None and self._busy():
                raise RetrainInProgressError(
                    "a retrain is already running on this host: this request starts none (its outcome: "
                    "`fraud model list`; ask again once it has ended)"
                )
            event = RetrainRequested(reason)
            self._publisher.publish(event)
            return event
