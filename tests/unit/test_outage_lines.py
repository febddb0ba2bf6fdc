"""The workers' log lines about a broker or storage outage become one line each; every other record passes
as it was."""

from __future__ import annotations

import logging
import sys

import pytest
import redis.exceptions
from celery.exceptions import ChordError
from kombu.exceptions import OperationalError

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.workers.outage_lines import LOGGERS, OutageLines, install

# What Celery's warnings capture logged on a real stack (Redis frozen while a chunk's result was stored).
OUTSIDE_BODY_WARNING = """\
/venv/lib/python3.11/site-packages/celery/app/trace.py:809: RuntimeWarning: Exception raised outside body: \
network:TimeoutError:
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/redis/_parsers/socket.py", line 64, in _read_from_socket
    data = sock.recv(socket_read_size)
TimeoutError: timed out

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/celery/app/trace.py", line 606, in trace_task
    task.backend.mark_as_done(
  File "/venv/lib/python3.11/site-packages/redis/_parsers/socket.py", line 77, in _read_from_socket
    raise TimeoutError("Timeout reading from socket")
redis.exceptions.TimeoutError: Timeout reading from socket

  warn(RuntimeWarning(
"""


def record_of(error: BaseException, message: str = "Task %s raised unexpected: %r", level: int = 40):
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "celery.app.trace", level, __file__, 1, message, ("score_chunk[j.chunk.000001]", error), exc_info
    )


def chord_error_caused_by(cause: BaseException) -> ChordError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise ChordError("Dependency j.chunk.000001 raised network:TimeoutError") from inner
    except ChordError as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        OperationalError("[Errno 111] Connection refused"),
        chord_error_caused_by(redis.exceptions.TimeoutError("Timeout reading from socket")),
    ],
    ids=["redis-timeout", "redis-connection", "kombu-operational", "chord-error-caused-by-redis"],
)
def test_a_broker_outage_becomes_one_line_at_its_level(error: BaseException) -> None:
    record = record_of(error)
    original = record.getMessage()

    assert OutageLines().filter(record) is True
    assert record.exc_info is None
    assert record.exc_text is None
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert message.startswith(original)
    assert "[broker outage: " in message
    assert "\n" not in message
    assert ("Timeout reading from socket" in message) or ("refused" in message)


@pytest.mark.parametrize(
    "error",
    [ValueError("bad input"), chord_error_caused_by(RuntimeError("model crashed")), KeyError("V7")],
    ids=["value-error", "chord-error-of-a-crash", "key-error"],
)
def test_any_other_error_keeps_its_traceback(error: BaseException) -> None:
    record = record_of(error)
    before = (record.msg, record.args, record.exc_info)

    assert OutageLines().filter(record) is True
    assert (record.msg, record.args, record.exc_info) == before


def warning_record(text: str) -> logging.LogRecord:
    """As `logging.captureWarnings` logs a warning."""
    return logging.LogRecord("py.warnings", logging.WARNING, __file__, 1, "%s", (text,), None)


def test_celerys_outside_body_warning_about_an_outage_becomes_one_line() -> None:
    record = warning_record(OUTSIDE_BODY_WARNING)

    OutageLines().filter(record)

    assert record.getMessage() == (
        "/venv/lib/python3.11/site-packages/celery/app/trace.py:809: RuntimeWarning: Exception raised "
        "outside body: network:TimeoutError [broker outage: redis.exceptions.TimeoutError: Timeout reading "
        "from socket; no traceback]"
    )


@pytest.mark.parametrize(
    "text",
    [
        OUTSIDE_BODY_WARNING.replace("redis.exceptions.TimeoutError", "ZeroDivisionError"),
        "/x.py:3: DeprecationWarning: redis.exceptions.TimeoutError is renamed\n  warn()\n",
    ],
    ids=["outside-body-not-an-outage", "another-warning"],
)
def test_other_warnings_pass_whole(text: str) -> None:
    record = warning_record(text)

    OutageLines().filter(record)

    assert record.getMessage() == text


def test_install_adds_one_filter_to_each_celery_logger_however_often_it_runs() -> None:
    install()
    install()

    for name in LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, OutageLines) for f in filters) == 1, name


def test_a_failed_acknowledgement_logged_through_celerys_request_logger_is_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """kombu logs "Couldn't ack" at CRITICAL, with the traceback, on the logger Celery hands it."""
    install()
    caplog.set_level(logging.WARNING)
    try:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")
    except redis.exceptions.TimeoutError:
        logging.getLogger("celery.worker.request").critical(
            "Couldn't ack %r, reason:%r", 7, "network:TimeoutError", exc_info=True
        )

    (record,) = [r for r in caplog.records if r.name == "celery.worker.request"]
    assert record.levelno == logging.CRITICAL
    assert record.exc_info is None
    assert record.getMessage() == (
        "Couldn't ack 7, reason:'network:TimeoutError' [broker outage: redis.exceptions.TimeoutError: "
        "Timeout reading from socket; no traceback]"
    )


def test_a_task_the_solo_pool_could_not_cancel_on_connection_loss_is_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis SIGKILLed mid-job on `make stack`: the consumer cancels the running task, which the solo pool
    cannot do; its warning carried the redis chain and the NotImplementedError, ~200 lines."""
    install()
    caplog.set_level(logging.WARNING)
    try:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    except redis.exceptions.ConnectionError:
        try:
            raise NotImplementedError(
                "<class 'celery.concurrency.solo.TaskPool'> does not implement kill_job"
            )
        except NotImplementedError:
            logging.getLogger("celery.worker.consumer.consumer").warning(
                "Failed to cancel active request %r after connection loss",
                "<Request j.chunk.000001>",
                exc_info=True,
            )

    (record,) = [r for r in caplog.records if r.name == "celery.worker.consumer.consumer"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.getMessage() == (
        "Failed to cancel active request '<Request j.chunk.000001>' after connection loss [broker outage: "
        "redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.; "
        "no traceback]"
    )


def service_outage() -> ServiceUnavailableError:
    """As `s3_errors` raises it after botocore's own attempts: the botocore error as its cause."""
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as cause:
            raise ServiceUnavailableError(
                'cannot read s3://fraud/data/jobs/j/request.json: Could not connect to the endpoint URL: "http://s3"'
            ) from cause
    except ServiceUnavailableError as error:
        return error


def test_a_service_outage_the_retries_gave_up_on_becomes_one_line() -> None:
    record = record_of(service_outage())
    original = record.getMessage()

    OutageLines().filter(record)

    assert record.exc_info is None
    assert record.getMessage() == (
        f"{original} [service outage: fraud_detection.domain.errors.ServiceUnavailableError: cannot read "
        's3://fraud/data/jobs/j/request.json: Could not connect to the endpoint URL: "http://s3"; '
        "no traceback]"
    )


def test_a_failure_that_could_not_be_recorded_for_the_same_outage_is_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`JobTask.on_failure` logs on the workers' own failure logger when the store is down as well."""
    install()
    caplog.set_level(logging.WARNING)
    try:
        raise service_outage()
    except ServiceUnavailableError:
        logging.getLogger("fraud_detection.workers.failures").exception(
            "could not record the failure of job %s", "j"
        )

    (record,) = [r for r in caplog.records if r.name == "fraud_detection.workers.failures"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is None
    assert record.getMessage().startswith("could not record the failure of job j [service outage: ")
