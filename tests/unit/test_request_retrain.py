"""POST /admin/retrain twice at once (a concurrency probe): both passed the busy check before the first
launch, both answered 202, and the launcher dropped the second silently."""

from __future__ import annotations

import threading
import time

from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.domain.errors import RetrainInProgressError
from fraud_detection.domain.events import DomainEvent


class SlowLauncher:
    """Like the local launcher: the retrain counts as running once `publish` (which starts it) returns."""

    def __init__(self) -> None:
        self.started: list[DomainEvent] = []

    def busy(self) -> bool:
        return bool(self.started)

    def publish(self, event: DomainEvent) -> None:
        time.sleep(0.05)  # starting a process
        self.started.append(event)


def test_requests_at_once_start_one_retrain_and_the_others_are_refused() -> None:
    launcher = SlowLauncher()
    outcomes: list[str] = []
    gate = threading.Barrier(4)

    def request() -> None:
        gate.wait()
        try:
            RequestRetrain(launcher, launcher.busy)("drift")  # type: ignore[arg-type]
            outcomes.append("accepted")
        except RetrainInProgressError:
            outcomes.append("refused")

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "refused", "refused", "refused"]
    assert len(launcher.started) == 1
