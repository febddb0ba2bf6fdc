"""Signals held through an atomic block, then sent again to whatever handler was in place (a Prefect worker's
cancel arrives as SIGTERM to Prefect's handler, which raises at any line)."""

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from fraud_detection.infrastructure.local.held_signals import holding_signals


class Cancelled(BaseException):
    """What Prefect's handler raises (its TerminationSignal is a BaseException too)."""


@pytest.fixture
def seen() -> Iterator[list[int]]:
    """A recording handler for both signals, the test's handlers restored after."""
    got: list[int] = []
    previous = {number: signal.signal(number, lambda n, _: got.append(n)) for number in (2, 15)}
    yield got
    for number, handler in previous.items():
        signal.signal(number, handler)


def test_a_signal_during_the_block_reaches_the_handler_once_the_block_is_whole(seen):
    handler = signal.getsignal(signal.SIGTERM)
    done: list[str] = []
    with holding_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # the same signal twice: delivered once, as a pending signal is
        done.append("the block went on")
        assert seen == []
    assert done == ["the block went on"]
    assert seen == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is handler


def test_each_signal_held_is_delivered_in_the_order_it_came(seen):
    with holding_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert seen == [signal.SIGTERM, signal.SIGINT]


def test_a_handler_that_raises_does_so_after_the_block(seen):
    def cancel(signum, frame):
        raise Cancelled

    signal.signal(signal.SIGTERM, cancel)
    done: list[str] = []

    def block() -> None:
        with holding_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            done.append("the block went on")

    with pytest.raises(Cancelled):
        block()
    assert done == ["the block went on"]
    assert signal.getsignal(signal.SIGTERM) is cancel


def test_nothing_is_sent_when_nothing_came(seen):
    with holding_signals():
        pass
    assert seen == []


def test_outside_the_main_thread_the_block_runs_as_it_is():
    """Signal handlers can only be set from the main thread (a pipeline run from a thread: the API's)."""
    errors: list[BaseException] = []
    ran: list[str] = []

    def run() -> None:
        try:
            with holding_signals():
                ran.append("ran")
        except BaseException as error:  # pragma: no cover - the failure this test looks for
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert ran == ["ran"]
    assert errors == []


def test_a_handler_installed_outside_python_is_left_alone(seen, monkeypatch):
    """`signal.getsignal` reads None for it, and None could not be put back (TypeError, after the block)."""
    real = signal.getsignal
    monkeypatch.setattr(signal, "getsignal", lambda number: None if number == signal.SIGINT else real(number))
    before = {number: real(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with holding_signals():
        assert real(signal.SIGINT) is before[signal.SIGINT]
        assert real(signal.SIGTERM) is not before[signal.SIGTERM]  # held
    assert {number: real(number) for number in before} == before
