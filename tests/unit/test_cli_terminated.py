"""SIGTERM raised as Ctrl-C is, told apart from it in the last line and the exit code."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import typer

from fraud_detection.entrypoints.cli.errors import user_errors
from fraud_detection.entrypoints.cli.interrupts import signal_behind
from fraud_detection.entrypoints.cli.terminated import Terminated, stop_exit_code, stop_on_sigterm, stop_verb


@pytest.fixture
def sigterm_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, before)


def test_sigterm_raises_terminated_which_every_ctrl_c_clean_up_catches(sigterm_restored: None) -> None:
    stop_on_sigterm()
    caught: list[BaseException] = []
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # CPython runs the handler before os.kill returns
    except KeyboardInterrupt as error:
        caught.append(error)
    assert [type(error) for error in caught] == [Terminated]


def test_a_handler_already_in_place_is_left_alone(sigterm_restored: None) -> None:
    def own(signum: int, frame: object) -> None: ...

    signal.signal(signal.SIGTERM, own)
    stop_on_sigterm()
    assert signal.getsignal(signal.SIGTERM) is own


@pytest.mark.parametrize(
    ("stop", "verb", "code"),
    [(Terminated(), "terminated", 143), (KeyboardInterrupt(), "interrupted", 130)],
    ids=["sigterm", "ctrl-c"],
)
def test_the_last_line_and_exit_code_name_the_signal(
    stop: KeyboardInterrupt, verb: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (stop_verb(stop), stop_exit_code(stop)) == (verb, code)
    with pytest.raises(SystemExit) as exited, user_errors():
        raise stop
    assert (exited.value.code, capsys.readouterr().err) == (code, f"{verb}\n")


def test_a_training_run_stopped_by_sigterm_before_its_handler_reports_sigterm() -> None:
    """A SIGTERM during Prefect's import, before `stopping_on_signals`: exit 143, "terminated"."""
    wrapped = ValueError("Task run is not set")
    wrapped.__cause__ = Terminated()
    assert signal_behind(wrapped) == signal.SIGTERM
    assert signal_behind(KeyboardInterrupt()) == signal.SIGINT


def test_typer_exit_is_not_a_stop() -> None:
    assert signal_behind(typer.Exit(2)) is None


@pytest.mark.parametrize(
    ("stop", "verb", "code"), [(Terminated, "terminated", 143), (KeyboardInterrupt, "interrupted", 130)]
)
def test_a_stop_before_any_command_runs_is_one_line_not_a_traceback(
    stop: type[KeyboardInterrupt],
    verb: str,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While typer builds the command tree, before a command's own handling (a stop probe: exit 1 and a
    traceback ending in `Terminated`)."""
    from fraud_detection.entrypoints.cli import app as cli_app

    def building() -> None:
        raise stop

    monkeypatch.setattr(cli_app, "app", building)
    monkeypatch.setattr(cli_app.terminated, "stop_on_sigterm", lambda: None)
    monkeypatch.setattr(cli_app.prefect_hang, "arm_pending_exit", lambda: None)
    monkeypatch.setattr(cli_app.gc, "freeze", lambda: None)
    with pytest.raises(SystemExit) as exited:
        cli_app.main()
    assert (exited.value.code, capsys.readouterr().err) == (code, f"{verb}\n")
