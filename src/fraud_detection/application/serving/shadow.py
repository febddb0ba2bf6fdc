"""Dark scoring off the response path: the model that did not answer scores the same rows on one daemon
thread, and its scores go to the shadow capture log (SHADOW_CAPTURE_PREFIX).

The queue is bounded and each job has a budget: a job still waiting `budget_ms` after its request is
dropped when picked up, and a job arriving at a full queue is dropped at once. Both are counted (as errors
when the dropped model is the challenger) and captured as NaN, so the evidence sees them: a challenger that
cannot keep up with live traffic fails its error-rate check instead of hiding behind the drops.

Where the jobs run: the API drains the queue right after a response is sent (a Starlette background
task, on the thread that served the request) once `drain_min` jobs wait or the oldest has waited `_due` (a
fifth of the budget, at most 125 ms), so no second thread competes for the GIL. A sweep thread that wakes
every `_due` and wakes nobody on submit runs only what waited twice that long (callers without a response to
hang it on, traffic too thin to drain it): under load it finds nothing to do. A worker woken per job, as first
built, halved the API's throughput in benchmarks/serve.py --rollout (each hand-off of the GIL stalls the
event loop up to the 5 ms switch interval); a sweep that drained whatever waited still took most drains
off the loop. A drain takes every job waiting (up to `batch_max`) and, per model, scores, captures and counts
their rows in one call each; the shadow role's latency sample is that scoring's time per job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fraud_detection.application.serving.model_holder import ServingModel
from fraud_detection.application.serving.model_scoring import (
    ChallengerChaos,
    capture,
    capture_failed,
    timed_scores,
)
from fraud_detection.application.serving.rollout_stats import RolloutRecorder
from fraud_detection.domain.ports.prediction_log import PredictionLog
from fraud_detection.domain.rollout import Role

logger = logging.getLogger(__name__)

QUEUE_FULL, OVER_BUDGET = "queue_full", "over_budget"


@dataclass(frozen=True)
class DarkJob:
    serving: ServingModel
    is_challenger: bool
    features: np.ndarray
    inputs: np.ndarray
    times: np.ndarray
    transaction_ids: tuple[str | None, ...]
    request_id: str
    submitted_at: float  # the scorer's clock (monotonic seconds)


class ShadowScorer:
    def __init__(
        self,
        log: PredictionLog,
        recorder: RolloutRecorder,
        queue_max: int,
        budget_ms: float,
        chaos: ChallengerChaos | None = None,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,  # False in tests: `drain` runs the queued jobs on the caller's thread
        batch_max: int = 256,
        drain_min: int = 32,
    ) -> None:
        self._batch_max, self._drain_min = batch_max, drain_min
        self._log, self._recorder, self._budget = log, recorder, budget_ms / 1000
        self._chaos, self.clock, self._background = chaos or ChallengerChaos(), clock, background
        # A deque, not a queue.Queue: nobody blocks on it, and its append and popleft are atomic without
        # the Queue's lock and condition (~4 us per job, twice). The bound is checked before appending, so
        # two threads submitting at once may pass it by one job.
        self._queue: deque[DarkJob] = deque()
        self._queue_max = queue_max
        self._waiting_since: float | None = None  # when the first job queued since the last drain was
        self._due = min(self._budget / 5, 0.125)  # the age at which a response drains; the sweep, twice
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None

    @property
    def log(self) -> PredictionLog:
        return self._log

    def pending(self) -> bool:
        """Enough jobs wait to be worth a drain now (one batched scoring per model), or the oldest has
        waited `_due`; otherwise they are left for a later response."""
        return len(self._queue) >= self._drain_min or self._waited(self._due)

    def _waited(self, seconds: float) -> bool:
        """A job waits since at least `seconds` (or one was queued while a drain was ending)."""
        since = self._waiting_since
        if since is None:
            return bool(self._queue)
        return self.clock() - since >= seconds

    def submit(self, job: DarkJob) -> None:
        """Queue a job; never blocks (a full queue drops it) and wakes no thread."""
        if self._background and self._worker is None:
            self._start()
        if len(self._queue) >= self._queue_max:
            self._drop(job, QUEUE_FULL)
            return
        self._queue.append(job)
        if self._waiting_since is None:
            self._waiting_since = job.submitted_at

    def drain(self) -> int:
        """Run every queued job now, on this thread; return how many ran."""
        done, self._waiting_since = 0, None
        while jobs := self._take():
            self.run(jobs)
            done += len(jobs)
        return done

    def run(self, jobs: list[DarkJob]) -> None:
        """Score the jobs (each model's rows in one call), dropping those past their budget. Never raises."""
        now, groups = self.clock(), dict[int, list[DarkJob]]()
        for job in jobs:
            if now - job.submitted_at > self._budget:
                self._drop(job, OVER_BUDGET)
            elif job.is_challenger and self._chaos.fails():
                self._failed([job], "chaos: a challenger scoring failed on purpose")
            else:
                groups.setdefault(id(job.serving), []).append(job)
        for group in groups.values():
            self._score(group)

    def _score(self, jobs: list[DarkJob]) -> None:
        """One model call, one capture and one count for all the jobs. With a capture and a count per job a
        drain of 32 one-row jobs took 387 us, against 186 us so, and the server's CPU per request in
        benchmarks/serve.py --rollout was 1.12x that of no rollout, against 1.04x."""
        serving = jobs[0].serving
        try:
            features = _joined([job.features for job in jobs])
            delay = self._chaos.delay if jobs[0].is_challenger else 0.0
            probabilities, decisions, seconds = timed_scores(serving, features, delay)
        except Exception as error:  # a challenger's bug must not take the worker down
            self._failed(jobs, f"{type(error).__name__}: {error}")
            return
        rows = len(probabilities)
        # The latency sample is the call's time per job: what a job's rows cost, batched.
        self._recorder.scored(
            Role.SHADOW, serving.version.version, rows, int(np.count_nonzero(decisions)), seconds / len(jobs)
        )
        request_ids = jobs[0].request_id if len(jobs) == 1 else _per_row_request_ids(jobs)
        ids = tuple(transaction_id for job in jobs for transaction_id in job.transaction_ids)
        inputs, times = _joined([job.inputs for job in jobs]), _joined([job.times for job in jobs])
        capture(self._log, serving, inputs, times, ids, probabilities, decisions, request_ids, seconds)

    def _failed(self, jobs: list[DarkJob], reason: str) -> None:
        version = jobs[0].serving.version.version
        logger.warning("dark scoring by v%d failed: %s", version, reason)
        for job in jobs:
            self._recorder.errors(Role.SHADOW, version, len(job.inputs))
            self._capture_failed(job)

    def _take(self) -> list[DarkJob]:
        """The jobs waiting, oldest first (up to `batch_max`)."""
        jobs: list[DarkJob] = []
        try:
            while len(jobs) < self._batch_max:
                jobs.append(self._queue.popleft())
        except IndexError:  # emptied (by this thread or a concurrent drain)
            pass
        return jobs

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker, run what is still queued (mostly over budget by now), then close the log."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout)
        self.drain()
        self._log.close()

    def _start(self) -> None:
        with self._start_lock:
            if self._worker is None and not self._stop.is_set():
                self._worker = threading.Thread(target=self._work, name="shadow-scorer", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while not self._stop.wait(self._due):
            self.sweep()

    def sweep(self) -> int:
        """Run the queued jobs if the oldest has waited twice `_due` (no response drained it); return how
        many ran."""
        return self.drain() if self._waited(2 * self._due) else 0

    def _drop(self, job: DarkJob, reason: str) -> None:
        rows = len(job.inputs)
        self._recorder.dropped(reason, rows)
        if job.is_challenger:
            self._recorder.errors(Role.SHADOW, job.serving.version.version, rows)
        self._capture_failed(job)

    def _capture_failed(self, job: DarkJob) -> None:
        capture_failed(self._log, job.serving, job.inputs, job.times, job.transaction_ids, job.request_id)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _per_row_request_ids(jobs: list[DarkJob]) -> tuple[str, ...]:
    return tuple(job.request_id for job in jobs for _ in range(len(job.inputs)))
