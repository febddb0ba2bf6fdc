"""A stored report read at scrape time, at most every `ttl_seconds`, shared by the report collectors."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

from fraud_detection.domain.errors import FraudDetectionError
from fraud_detection.domain.ports.reports import Reports
from fraud_detection.domain.reports import ReportKind

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CachedRead(Generic[T]):
    """`read()` re-run at most every `ttl_seconds`: frequent scrapes cost one small object-store read per
    interval. `read` returns None when there is no report; when it fails, the previous value is kept (a
    store hiccup must not make series vanish) and the failure logged, naming `what`."""

    def __init__(
        self,
        read: Callable[[], T | None],
        what: str,
        ttl_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read, self._what, self._ttl, self._clock = read, what, ttl_seconds, clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._read_at: float | None = None

    def get(self) -> T | None:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._ttl:
                self._read_at = now
                try:
                    self._value = self._read()
                except (FraudDetectionError, ValueError, KeyError, TypeError) as error:
                    logger.warning("could not read %s: %s", self._what, error)
            return self._value


class CachedLatest(CachedRead[T]):
    """The latest report of `kind`, re-read at most every `ttl_seconds`."""

    def __init__(
        self,
        reports: Reports,
        kind: ReportKind[T],
        ttl_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(partial(reports.latest, kind), f"the latest {kind.name} report", ttl_seconds, clock)
