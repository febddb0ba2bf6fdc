"""`JobQueue` over Celery: submit sends the prepare task by name; the workers fan the chunks out."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from celery import Celery
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.ports.jobs import JobQueue, QueuedWork
from fraud_detection.infrastructure.celery.names import PREPARE, QUEUE, prepare_task_id, step_of_task_id

logger = logging.getLogger(__name__)
BROKER_ERRORS: tuple[type[Exception], ...] = (OperationalError, OSError)
REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+socket", "sentinel"})
PAGE = 500  # messages read from Redis per call when looking for jobs' tasks
T = TypeVar("T")


class CeleryJobQueue(JobQueue):
    def __init__(self, app: Celery) -> None:
        self._app = app
        self._broker = str(maybe_sanitize_url(app.conf.broker_url))

    @property
    def broker(self) -> str:
        """The broker URL with any password masked (safe for messages and logs)."""
        return self._broker

    def enqueue(self, job_id: str) -> None:
        try:
            self._app.send_task(
                PREPARE, args=[job_id], task_id=prepare_task_id(job_id), queue=QUEUE, ignore_result=True
            )
        except BROKER_ERRORS as error:
            raise self._unavailable(error) from error

    def cancel(self, job_id: str) -> None:
        """Revoke the prepare task if it has not started. Chunks need nothing: each checks the job record,
        and the commit task must still run to clean up the parts of chunks that were already running."""
        try:
            self._app.control.revoke(prepare_task_id(job_id))
        except BROKER_ERRORS as error:
            logger.warning("could not revoke job %s's tasks: %s", job_id, self._unavailable(error))

    def depth(self) -> int | None:
        """Task messages waiting in the Redis queue (every priority list), or None for another broker or
        when the broker cannot be reached."""
        # kombu's own count: LLEN of the queue's list for each priority step.
        return self._ask_redis("queue depth", lambda channel: int(channel._size(QUEUE)))

    def queued_work(self) -> QueuedWork | None:
        """Read from Redis itself: the messages waiting in the queue's lists, and those delivered to a
        worker and not yet acknowledged (kombu keeps them in its `unacked` hash until the task ends, as
        tasks are acknowledged late). Task ids name their job and step (`names`). None for another broker,
        or when Redis cannot be reached."""

        def ask(channel: Any) -> QueuedWork:
            with channel.conn_or_acquire() as client:
                waiting = _by_job(_steps_of(_queued(client, channel)))
                held = _by_job(_steps_of(_held(client, channel)))
            return QueuedWork(waiting, held)

        return self._ask_redis("queued work", ask)

    def _ask_redis(self, what: str, ask: Callable[[Any], T]) -> T | None:
        """`ask(channel)` on the Redis broker; None for another broker or when Redis cannot be reached."""
        if urlsplit(self._app.conf.broker_url).scheme not in REDIS_SCHEMES:
            return None
        with self._app.connection_for_read() as connection:
            errors = (*BROKER_ERRORS, *connection.connection_errors, *connection.channel_errors)
            try:
                connection.ensure_connection(max_retries=0)
                return ask(connection.default_channel)
            except errors as error:
                logger.debug("%s unknown: %s", what, error)
                return None

    def _unavailable(self, error: Exception) -> ServiceUnavailableError:
        reason = " ".join(str(error).split()) or type(error).__name__
        return ServiceUnavailableError(f"message broker {self._broker} is unreachable: {reason}")


def _queued(client: Any, channel: Any) -> Iterator[bytes]:
    """Raw messages of the queue, every priority list, read a page at a time."""
    for priority in channel.priority_steps:
        key = channel._q_for_pri(QUEUE, priority)
        for start in itertools.count(0, PAGE):
            page = client.lrange(key, start, start + PAGE - 1)
            yield from page
            if len(page) < PAGE:
                break


def _held(client: Any, channel: Any) -> Iterator[bytes]:
    for _, held in client.hscan_iter(channel.unacked_key, count=PAGE):
        yield held


def _by_job(steps: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    named: dict[str, set[str]] = {}
    for job_id, step in steps:
        named.setdefault(job_id, set()).add(step)
    return {job_id: frozenset(found) for job_id, found in named.items()}


def _steps_of(messages: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    for raw in messages:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, list) and message:  # unacked: [message, exchange, routing key]
            message = message[0]
        headers = message.get("headers") if isinstance(message, dict) else None
        task_id = headers.get("id") if isinstance(headers, dict) else None
        if isinstance(task_id, str) and (step := step_of_task_id(task_id)) is not None:
            yield step
