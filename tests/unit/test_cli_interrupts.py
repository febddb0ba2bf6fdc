"""`run_flow_until_stopped`, the part `fraud pipeline run` and `fraud retrain` share: a flow under the Ctrl-C
and SIGTERM handler, the one-line report and the exit code, with the temporary Prefect server detached first.
The flow is a plain function here; the real commands are driven in tests/e2e/test_cli_interrupt.py."""

import io
import os
import signal

import pytest
import typer
from rich.console import Console

from fraud_detection.application.interruption import Interruption
from fraud_detection.application.progress import StageClock
from fraud_detection.entrypoints.cli.interrupts import run_flow_until_stopped
from fraud_detection.entrypoints.cli.progress import ConsoleProgress
from fraud_detection.flows import temporary_server


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What happened, in order; the real detach would register a server for the whole test process."""
    happened: list[str] = []
    monkeypatch.setattr(temporary_server, "detach_temporary_server", lambda: happened.append("detach"))
    return happened


@pytest.fixture
def progress() -> ConsoleProgress:
    return ConsoleProgress(Console(file=io.StringIO()))


def test_a_run_nobody_stops_returns_the_flows_result_and_restores_the_handlers(calls, progress, capsys):
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def flow() -> str:
        calls.append("flow")
        assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]  # ours, while the flow runs
        return "summary"

    assert run_flow_until_stopped("retrain", progress, Interruption(), flow) == "summary"
    assert calls == ["detach", "flow"]  # detached before the flow can start the server
    assert {number: signal.getsignal(number) for number in before} == before
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("signum", "code", "verb"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_during_a_stage_stops_the_run_with_one_line_and_128_plus_the_signal(
    calls, progress, capsys, signum, code, verb
):
    def flow() -> str:
        progress.stage_finished("validate", 0.1, "")
        progress.stage_started("train")
        os.kill(os.getpid(), signum)  # delivered to the main thread before the next bytecodes
        calls.append("went on after the signal")
        return "summary"

    interruption = Interruption()
    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped("retrain", progress, interruption, flow)
    assert stopped.value.exit_code == code
    assert calls == ["detach"]
    assert interruption.signal == signum
    assert capsys.readouterr().err == (
        f"{verb}: the retrain stopped during train, before registering; nothing was registered\n"
    )


def test_a_stop_that_waited_for_the_last_stage_is_still_reported(calls, progress, capsys):
    """The gate's records are atomic: a stop during them lets the flow return; the command still stops."""
    interruption = Interruption()

    def flow() -> str:
        for stage, detail in (("register", "fraud-lgbm v3 @challenger"), ("promote", "keep")):
            progress.stage_started(stage)
            progress.stage_finished(stage, 0.1, detail)
        interruption.request(signal.SIGINT)
        return "summary"

    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped("pipeline", progress, interruption, flow)
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err == (
        "interrupted: the pipeline had finished (fraud-lgbm v3 @challenger, gate: keep)\n"
    )


def test_a_keyboard_interrupt_from_elsewhere_counts_as_ctrl_c(calls, progress, capsys):
    """Ctrl-C that arrived before the handler was installed, or re-raised by a library, reports the same."""

    def flow() -> str:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped("retrain", progress, Interruption(), flow)
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err == (
        "interrupted: the retrain stopped before its first stage; nothing was registered\n"
    )


def test_a_stop_the_orchestrator_turned_into_another_error_is_still_a_stop(calls, progress, capsys):
    """Seen in CI: SIGINT while Prefect created a task run; its crash handling raised `ValueError("Task run is
    not set")` in place of the interrupt, and the command ended in a traceback with exit 1."""

    def flow() -> str:
        progress.stage_finished("features", 0.1, "")
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            raise ValueError("Task run is not set") from None
        return "summary"

    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped("pipeline", progress, Interruption(), flow)
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err == (
        "interrupted: the pipeline stopped before registering; nothing was registered\n"
    )


def test_an_error_nobody_asked_for_is_not_hidden(calls, progress):
    def flow() -> str:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_flow_until_stopped("pipeline", progress, Interruption(), flow)


def test_a_sigterm_prefect_turned_into_another_error_is_still_a_sigterm(calls, progress, capsys):
    """Seen in CI: SIGTERM while a flow runs goes to Prefect's own handler (TerminationSignal); landing while
    Prefect created a task run, it came out as `ValueError("Task run is not set")`; our handler never ran."""
    from prefect.exceptions import TerminationSignal

    def flow() -> str:
        progress.stage_finished("features", 0.1, "")
        try:
            raise TerminationSignal(signal=signal.SIGTERM)
        except TerminationSignal:
            raise ValueError("Task run is not set") from None  # `from None` still keeps __context__
        return "summary"

    interruption = Interruption()
    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped("retrain", progress, interruption, flow)
    assert stopped.value.exit_code == 143
    assert capsys.readouterr().err == (
        "terminated: the retrain stopped before registering; nothing was registered\n"
    )


def test_system_exit_is_not_a_stop(calls, progress):
    def flow() -> str:
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        run_flow_until_stopped("pipeline", progress, Interruption(), flow)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_between_stages_of_a_flow_waits_for_the_next_stage(calls, progress, capsys, signum, code):
    """Prefect's flow engine puts its own SIGTERM handler in (it raised TerminationSignal inside Prefect's
    bookkeeping); the flow's body takes SIGTERM back, and a signal between stages lets that code go on."""
    interruption = Interruption()
    clock = StageClock(progress, interruption)

    def orchestrator_handler(signum: int, frame: object) -> None:
        raise AssertionError("the orchestrator's handler ran")

    def flow() -> str:
        ours = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGTERM, orchestrator_handler)  # what Prefect's engine does as a flow starts
        interruption.stop_at_stages()  # what the flow's body does first
        assert signal.getsignal(signal.SIGTERM) is ours
        with clock.stage("features"):
            pass
        os.kill(os.getpid(), signum)  # lands in the orchestrator's bookkeeping
        calls.append("the orchestrator went on")
        with clock.stage("train"):
            calls.append("train ran")
        return "summary"

    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped("retrain", progress, interruption, flow)
    assert stopped.value.exit_code == code
    assert calls == ["detach", "the orchestrator went on"]
    report = capsys.readouterr().err
    assert report.endswith("the retrain stopped before registering; nothing was registered\n"), report
    assert {number: signal.getsignal(number) for number in before} == before
    assert interruption.reclaim is None


def test_a_stage_that_failed_then_succeeded_on_its_retry_is_no_longer_the_failed_one(
    progress: ConsoleProgress,
) -> None:
    """Before, a failure after the retry, outside any stage, was reported in the summary as that stage's."""
    shown = progress
    shown.stage_started("register")
    shown.stage_failed("register", 1.0, OSError("S3 down"))
    assert shown.failed == "register"
    shown.stage_started("register")  # the orchestrator's retry
    shown.stage_finished("register", 1.0, "v2")
    assert shown.failed is None
    shown.stage_started("promote")
    shown.stage_failed("promote", 1.0, OSError("registry down"))
    assert shown.failed == "promote"
