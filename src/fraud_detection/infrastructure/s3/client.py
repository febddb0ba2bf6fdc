"""One way to build an S3 client, shared by the object store and the file source."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# "standard" mode retries throttling, 5xx and connection errors with backoff (legacy mode retries fewer).
MAX_ATTEMPTS = 5  # the first try included
# Connections a client keeps (botocore's default is 10): enough for the object store's read-ahead and a
# multipart upload's parts at once, without "connection pool is full" discards.
MAX_POOL_CONNECTIONS = 32
# Seconds to wait for each answer (botocore's default is 60): an S3 that accepts connections and never
# answers costs MAX_ATTEMPTS times this, plus backoff, before the error (5 min of silence at 60 s). S3 and
# SeaweedFS answer small requests in milliseconds and stream large bodies, so 20 s of nothing is an outage.
READ_TIMEOUT_SECONDS = 20.0
logger = logging.getLogger(__name__)


def make_s3_client(
    endpoint_url: str | None = None, region: str | None = None, read_timeout: float = READ_TIMEOUT_SECONDS
) -> S3Client:
    """Credentials come from the usual chain (env, profile, instance role). An endpoint URL means an
    S3-compatible server (SeaweedFS, MinIO), which wants path-style addressing."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=read_timeout,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    session = boto3.session.Session()  # a session per client: the default one is not thread-safe
    client = session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
    client.meta.events.register("needs-retry.s3", _say_retrying)
    return client


class RetryLines:
    """Whether a retry line is the first of its kind lately. The parts of a multipart upload (up to 32 at
    once) and the reads ahead of a download fail and retry together: during a 150 s S3 freeze on `make
    stack` one batch command printed 38 lines, 28 of them the same UploadPart line but for its part number.
    A line alike (operation, reason without the URL's query, attempt number) within `window` seconds of the
    last one printed is dropped."""

    def __init__(self, window: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window, self._clock = window, clock
        self._printed: dict[tuple[str, str, int], float] = {}
        self._lock = threading.Lock()

    def first(self, key: tuple[str, str, int]) -> bool:
        with self._lock:
            now = self._clock()
            self._printed = {k: t for k, t in self._printed.items() if now - t < self._window}
            if key in self._printed:
                return False
            self._printed[key] = now
            return True


RETRY_LINES = RetryLines()
_QUERY = re.compile(r"\?[^\s\"']*")  # ?uploadId=...&partNumber=7: long, and different for every part


def _say_retrying(attempts: int, caught_exception: Exception | None = None, **kwargs: Any) -> None:
    """botocore retries a hung or refusing S3 silently, so a command said nothing for minutes. Returns None:
    whether to retry stays botocore's decision (it runs before this handler and its answer wins)."""
    if caught_exception is not None and attempts < MAX_ATTEMPTS:
        operation = getattr(kwargs.get("operation"), "name", "request")
        reason = _QUERY.sub("", " ".join(str(caught_exception).split())) or type(caught_exception).__name__
        if RETRY_LINES.first((operation, reason, attempts)):
            attempt = f"attempt {attempts + 1} of {MAX_ATTEMPTS}"
            logger.warning("S3 %s: %s; trying again (%s)", operation, reason, attempt)
