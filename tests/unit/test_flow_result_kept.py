"""A flow's result kept as its body returns (flows/finished.py), and how a command ends when Prefect's
bookkeeping after that fails, hangs, or hangs the exit (entrypoints/cli/prefect_hang.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from fraud_detection.flows.finished import keeps_result, run_keeping_result


@keeps_result
def body(value: int) -> int:
    return value * 2


def test_the_result_stands_when_the_bookkeeping_after_the_body_fails():
    def run() -> int:
        body(21)
        raise ConnectionError("All connection attempts failed\nmore lines")

    assert run_keeping_result("body", run) == (42, "ConnectionError: All connection attempts failed")


def test_an_error_before_the_body_returned_is_raised():
    def run() -> int:
        raise RuntimeError("the flow failed")

    with pytest.raises(RuntimeError, match="the flow failed"):
        run_keeping_result("body", run)


def test_a_prefect_api_unreachable_before_the_body_is_an_outage_in_one_line():
    """Before, `fraud pipeline run` and `fraud retrain` ended in three tracebacks (158 lines), exit 1."""
    import httpx

    from fraud_detection.domain.errors import ServiceUnavailableError

    def run() -> int:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError as refused:
            raise RuntimeError("Failed to reach API at http://127.0.0.1:9/api/") from refused

    with pytest.raises(ServiceUnavailableError) as raised:
        run_keeping_result("body", run)
    assert str(raised.value) == (
        "Prefect API unreachable: Failed to reach API at http://127.0.0.1:9/api/ "
        "(ConnectError: [Errno 111] Connection refused)"
    )


def test_a_prefect_api_lost_while_the_body_runs_is_raised_as_it_came():
    """Mid-run, "try again" (an outage's advice) could train and register another version."""
    import httpx

    @keeps_result
    def dropped(value: int) -> int:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError as refused:
            raise RuntimeError("Failed to reach API at http://127.0.0.1:9/api/") from refused

    with pytest.raises(RuntimeError, match="Failed to reach API"):
        run_keeping_result("dropped", lambda: dropped(1))


def test_a_run_that_returns_in_time_never_calls_the_hang_ending():
    ended: list[object] = []
    assert run_keeping_result("body", lambda: body(1), on_hang=lambda *a: ended.append(a), grace=0.05) == (
        2,
        None,
    )
    time.sleep(0.2)
    assert ended == []


def test_a_run_still_held_by_prefect_a_grace_after_its_body_returned_is_ended_once():
    """The engine's last call blocks (a server that never answers): the watchdog hands the kept result to
    the hang ending, once, while the main thread is still stuck."""
    released, ended = threading.Event(), []

    def end(result: int, reason: str):
        ended.append((result, reason, threading.current_thread() is threading.main_thread()))
        released.set()  # a real ending exits the process; here, let the stuck call go

    def run() -> int:
        result = body(5)
        released.wait(10)  # Prefect's client, waiting on the frozen server
        return result

    started = time.monotonic()
    assert run_keeping_result("body", run, on_hang=end, grace=0.2) == (10, None)
    assert ended == [(10, "no answer from it 0.2 s after the run finished", False)]
    assert time.monotonic() - started < 5


def test_a_process_stuck_in_an_exit_hook_exits_0_with_a_warning_after_the_grace(tmp_path):
    """Prefect drains its logs and events to the server in a `threading` exit hook with no time limit: a
    frozen server held the process for good. The hook here never returns."""
    script = textwrap.dedent(
        """
        import threading
        from fraud_detection.entrypoints.cli.prefect_hang import exit_within

        threading._register_atexit(threading.Event().wait)  # as Prefect's services drain at exit
        print("summary printed", flush=True)
        exit_within("pipeline", 0.5)
        """
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 0, done.stderr
    assert done.stdout == "summary printed\n"
    assert done.stderr.startswith("warning: Prefect could not hand the pipeline run's last logs and events")
    assert "within 0.5 s; exiting without them" in done.stderr


def test_the_exit_watchdog_is_armed_by_the_program_only_when_a_training_command_asked(monkeypatch):
    """A command called in-process (a test's CliRunner) must never end its caller's process a minute on."""
    from fraud_detection.entrypoints.cli import prefect_hang

    armed: list[tuple[str, float | None]] = []
    monkeypatch.setattr(prefect_hang, "exit_within", lambda run, seconds=None: armed.append((run, seconds)))
    prefect_hang.arm_pending_exit()
    assert armed == []
    prefect_hang.exit_within_later("retrain")
    assert armed == []  # asked, not armed: that is `main`'s, after the command returned
    prefect_hang.arm_pending_exit()
    prefect_hang.arm_pending_exit()
    assert armed == [("retrain", None)]  # the whole grace


def test_a_run_whose_end_the_server_lost_waits_seconds_not_the_grace_for_the_rest(monkeypatch):
    """The server already failed to record the run's end: its last logs and events go to the same server.
    A killed server held the process 60 s after the report, each queued event failing after ~7 s."""
    from fraud_detection.entrypoints.cli import prefect_hang

    armed: list[tuple[str, float | None]] = []
    monkeypatch.setattr(prefect_hang, "exit_within", lambda run, seconds=None: armed.append((run, seconds)))
    prefect_hang.exit_within_later("pipeline", end_lost=True)
    prefect_hang.arm_pending_exit()
    assert armed == [("pipeline", prefect_hang.LOST_SERVER_EXIT_SECONDS)]
    assert prefect_hang.LOST_SERVER_EXIT_SECONDS <= 10


def test_the_grace_is_one_request_timeout_of_prefects_client():
    """A server that has not answered within the client's own limit is not answering; a deployment that
    raised the limit for a slow server gets a longer grace with it."""
    from prefect.settings import PREFECT_API_REQUEST_TIMEOUT, temporary_settings

    from fraud_detection.flows.finished import finish_grace_seconds

    with temporary_settings({PREFECT_API_REQUEST_TIMEOUT: 7.5}):
        assert finish_grace_seconds() == 7.5
    with temporary_settings({PREFECT_API_REQUEST_TIMEOUT: 240}):
        assert finish_grace_seconds() == 240
