"""Reading a followed job's status through a storage outage.

The job goes on without its follower: its steps retry an outage for minutes (`domain.jobs.OUTAGE_RETRIES`), on
the workers and in the embedded queue alike.
A follower that exited with "a service is down; try again" at the first status read that failed (after the
object store's own 5 attempts) left a CI script failing while the job went on to succeed (seen on `make
stack` with S3 frozen for 150 s). So `--wait` keeps following through an outage, says so once, and gives up
only when the status has stayed unreadable for longer than the workers would keep trying.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fraud_detection.domain.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from fraud_detection.domain.jobs import JobStatus

# Longer than the workers' retries take (12 jittered waits capped at 60 s: ~3.5 min on average, 7 at most,
# plus each attempt's own timeouts), so a job that can still end does so while it is followed.
OUTAGE_PATIENCE_SECONDS = 600.0
RETRY_SECONDS = 5.0


class PatientStatusReads:
    """`read(job_id)`, retried while it raises ServiceUnavailableError, for up to `patience` seconds of one
    outage; `say` hears once when an outage starts and once when it ends."""

    def __init__(
        self,
        read: Callable[[str], JobStatus],
        say: Callable[[str], None],
        patience: float | None = None,
        retry_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._read, self._say = read, say
        # Read at construction, not definition, so a test can shorten the module's figures.
        self._patience = OUTAGE_PATIENCE_SECONDS if patience is None else patience
        self._retry_seconds = RETRY_SECONDS if retry_seconds is None else retry_seconds
        self._clock, self._sleep = clock, sleep
        self._since: float | None = None

    def __call__(self, job_id: str) -> JobStatus:
        while True:
            try:
                current = self._read(job_id)
            except ServiceUnavailableError as error:
                self._wait_out(job_id, error)
                continue
            if self._since is not None:
                self._say(f"job {job_id}: status readable again after {self._clock() - self._since:.0f} s")
                self._since = None
            return current

    def _wait_out(self, job_id: str, error: ServiceUnavailableError) -> None:
        now = self._clock()
        if self._since is None:
            self._since = now
            self._say(
                f"job {job_id}: cannot read its status ({error}); the job goes on without this command, "
                f"which keeps following it for up to {self._patience:.0f} s"
            )
        elif now - self._since >= self._patience:
            raise ServiceUnavailableError(
                f"{error}; the status of job {job_id} stayed unreadable for {now - self._since:.0f} s, so "
                f"this command stops following it: the job may still end (`fraud batch status {job_id}`)"
            ) from error
        self._sleep(self._retry_seconds)
