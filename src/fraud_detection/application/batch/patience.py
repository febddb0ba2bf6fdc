"""The embedded queue's steps ride out a storage or registry outage as the workers' tasks do.

Without it, a job run in process (no broker) failed on the first `ServiceUnavailableError`, once the S3
client's own 5 attempts were spent: S3 frozen for 150 s on `make stack` failed a 1.5M-row job that a
worker would have finished, and, the store still down, its failure might not be recorded either. The
schedule is the workers' (domain/jobs.py). Written by hand, not with a retry library: a loop of a few lines
over that schedule, with the pause and the draw injected so that tests do not wait. A wait ends early when
the job is cancelled (its `stop` is set): a Ctrl-C on `fraud batch submit` during an outage otherwise held
the command for up to a minute after the cancel had been recorded.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.jobs import OUTAGE_RETRIES, outage_wait_bound

logger = logging.getLogger(__name__)
T = TypeVar("T")


class CancelledWhileWaitingError(Exception):
    """The job's `stop` was set while its step waited out an outage: the step is not tried again."""


def wait_unless_stopped(seconds: float, stop: threading.Event) -> bool:
    """Waits `seconds`, or less if `stop` is set meanwhile; True when it was (the default pause)."""
    return stop.wait(seconds)


@dataclass(frozen=True)
class OutagePatience:
    retries: int = OUTAGE_RETRIES
    pause: Callable[[float, threading.Event], bool] = wait_unless_stopped
    draw: Callable[[float, float], float] = random.uniform

    def call(self, job_id: str, step: str, run: Callable[[], T], stop: threading.Event | None = None) -> T:
        """`run()` (one idempotent step of the job), again after each outage, up to `retries` times; past
        them the outage is raised with the step's name and the retries in its message, as a worker's.
        `stop` set during a wait (the job cancelled) raises `CancelledWhileWaitingError`, not trying again."""
        stop = stop or threading.Event()
        for retry in range(self.retries + 1):
            try:
                return run()
            except ServiceUnavailableError as error:
                if retry == self.retries:
                    if not self.retries:
                        raise  # no patience asked for: the outage as it came
                    raise ServiceUnavailableError(
                        f"{step}: {error} (gave up after {self.retries} retries)"
                    ) from error
                wait = self.draw(0.0, outage_wait_bound(retry))
                logger.warning(
                    "job %s, %s: %s; trying again in %.1f s (retry %d of %d)",
                    job_id,
                    step,
                    error,
                    wait,
                    retry + 1,
                    self.retries,
                )
                if self.pause(wait, stop):
                    logger.warning(
                        "job %s, %s: stopped waiting out the outage: the job was cancelled", job_id, step
                    )
                    raise CancelledWhileWaitingError(
                        f"{step}: the job was cancelled while it waited out an outage"
                    ) from error
        raise AssertionError("unreachable: the last attempt returns or raises")
