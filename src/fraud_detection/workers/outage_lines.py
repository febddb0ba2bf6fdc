"""Broker and storage outages in the workers' log lines: one line each, not a traceback through redis-py
or botocore.

A Redis stall of a few seconds while a chunk's result is stored makes Celery log a RuntimeWarning
("Exception raised outside body"), a task failure and a chord failure (and, during an acknowledgement,
"Couldn't ack"), each with a ~60-line traceback:
about 130 lines for one event that the job's recovery handles and reports in one line of its own. A storage
or registry outage that outlasts a task's retries (`ServiceUnavailableError`) logged the task's failure with
the ~90-line botocore/urllib3 chain behind it, and again if the job's failure could not be recorded either.
The traceback of a socket timeout tells an operator nothing; what stays is each line, at its level, with the
outage's type and message. Every other record passes untouched. A filter on Celery's loggers (and the
workers' own failure logger), because Celery offers no setting for it.
"""

from __future__ import annotations

import logging
import re

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.workers.tasks import BROKER_OUTAGES, failure_logger

# The loggers that log those lines: the tracer's task failure, a chord's failure in the result backend
# (Redis's or the base class's), Python warnings once Celery routes them to logging, and a request's
# acknowledgement Redis could not confirm ("Couldn't ack ...", CRITICAL, which kombu logs on the logger
# Celery hands it), and the consumer's "Failed to cancel active request ... after connection loss" (a solo
# pool cannot cancel a running task: its NotImplementedError came with the whole redis chain, ~200 lines,
# on a Redis restarted mid-job).
LOGGERS = (
    "celery.app.trace",
    "celery.worker.consumer.consumer",
    "celery.backends.redis",
    "celery.backends.base",
    "celery.worker.request",
    "py.warnings",
    failure_logger.name,  # "could not record the failure of job ..." when the store is down too
)
OUTSIDE_BODY = "Exception raised outside body"
# The last line of a formatted traceback whose error is a broker outage.
OUTAGE_LINE = re.compile(
    r"^((?:redis\.exceptions\.\w+|kombu\.exceptions\.OperationalError)(?:: .*)?)$", re.MULTILINE
)
MAX_CHAIN = 10  # __cause__/__context__ links followed before giving up


class OutageLines(logging.Filter):
    """Rewrites a record about a broker or service outage as one line; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        outage = _outage_in(error) if error is not None else None
        if outage is not None:
            kind = "service" if isinstance(outage, ServiceUnavailableError) else "broker"
            _one_line(record, f"{record.getMessage()} [{kind} outage: {_describe(outage)}; no traceback]")
        elif record.name == "py.warnings":
            text = record.getMessage()
            found = OUTAGE_LINE.findall(text) if OUTSIDE_BODY in text else []
            if found:
                first = text.split("\n", 1)[0].rstrip(":")
                _one_line(record, f"{first} [broker outage: {found[-1]}; no traceback]")
        return True


def install() -> None:
    """Add the filter to Celery's loggers once per process (a filter on a logger outlives Celery's own
    handler set-up at worker start)."""
    for name in LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(existing, OutageLines) for existing in target.filters):
            target.addFilter(OutageLines())


def _outage_in(error: BaseException) -> BaseException | None:
    """The outage in `error`'s chain (a ChordError carries it as its cause), if there is one: a broker error,
    or a service the task's retries gave up on (its message already names the service and the cause)."""
    current: BaseException | None = error
    for _ in range(MAX_CHAIN):
        if current is None:
            return None
        if isinstance(current, (*BROKER_OUTAGES, ServiceUnavailableError)):
            return current
        current = current.__cause__ or current.__context__
    return None


def _describe(error: BaseException) -> str:
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    return f"{name}: {error}" if str(error) else name


def _one_line(record: logging.LogRecord, message: str) -> None:
    record.msg, record.args = message, None
    record.exc_info, record.exc_text = None, None
