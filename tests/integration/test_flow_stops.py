"""A stop that arrives while Prefect records a task's state waits for the next stage, which refuses to
start: the real training flow on Prefect's engine and server, every port faked (tests/unit/conftest.py).

Before, SIGTERM went to Prefect's own handler and SIGINT to ours, and both raised at whatever line Prefect was
running. Once, in a full test run, a `fraud retrain` stopped that way after `features` never exited: its flow
run stayed RUNNING on the server (tests/e2e/test_cli_interrupt.py drives the real command).
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import typer
from dependency_injector import providers
from prefect import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import TerminationSignal
from prefect.task_engine import SyncTaskRunEngine
from prefect.testing.utilities import prefect_test_harness
from rich.console import Console

from fraud_detection.composition import use_container
from fraud_detection.domain.events import ModelRegistered
from fraud_detection.domain.model import CHALLENGER
from fraud_detection.entrypoints.cli.interrupts import run_flow_until_stopped
from fraud_detection.entrypoints.cli.progress import ConsoleProgress
from fraud_detection.flows import temporary_server
from fraud_detection.flows.training import training_pipeline
from tests.unit.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(temporary_server, "detach_temporary_server", lambda: None)  # the harness's server
    made = World()
    use_container(made.container)
    yield made
    use_container(None)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_prefect_records_a_finished_stage_stops_the_run_at_the_next_one(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], signum: int, code: int
) -> None:
    progress = ConsoleProgress(Console(file=io.StringIO()))
    world.container.observer.override(providers.Object(progress))
    log_finished = SyncTaskRunEngine.log_finished_message
    went_on: list[str] = []
    flow_runs: list[UUID] = []

    def log_then_signal(engine: Any) -> None:
        # the task engine's last step for a task (its state is set): where the hung run's signal landed
        log_finished(engine)
        if engine.task.name == "features":
            flow_runs.append(engine.task_run.flow_run_id)
            os.kill(os.getpid(), signum)
            went_on.append("Prefect's bookkeeping went on after the signal")

    monkeypatch.setattr(SyncTaskRunEngine, "log_finished_message", log_then_signal)
    with pytest.raises(typer.Exit) as stopped:
        run_flow_until_stopped(
            "pipeline", progress, world.container.interruption(), lambda: training_pipeline("good.csv")
        )
    assert stopped.value.exit_code == code
    assert went_on == ["Prefect's bookkeeping went on after the signal"]
    assert list(progress.finished) == ["ingest", "validate", "features"]
    assert progress.running is None  # `train` refused to start
    report = capsys.readouterr().err
    assert report.endswith("the pipeline stopped before registering; nothing was registered\n"), report
    assert world.registry.versions == {}
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_runs[0]).state
    assert state is not None
    assert state.is_final(), state  # crashed, not left RUNNING


def test_a_cancel_during_register_under_prefects_own_handler_lets_the_version_finish_whole(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run a Prefect worker started has no CLI handler: a cancel is SIGTERM to Prefect's handler, which
    raises TerminationSignal at any line. `register` holds it and the run stops after the stage, whole."""
    register = world.registry.register
    flow_runs: list[UUID] = []

    def register_then_cancel(*args: Any, **kwargs: Any) -> Any:
        version = register(*args, **kwargs)
        run = FlowRunContext.get()
        assert run is not None
        assert run.flow_run is not None
        flow_runs.append(run.flow_run.id)
        os.kill(os.getpid(), signal.SIGTERM)  # what the worker sends, mid-stage: the alias is not set yet
        return version

    monkeypatch.setattr(world.registry, "register", register_then_cancel)
    # Prefect sends the signal on to the handler it found (by default the one that ends the process)
    forwarded: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: forwarded.append(signum))
    try:
        with pytest.raises(TerminationSignal):
            training_pipeline("good.csv")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert forwarded == [signal.SIGTERM]
    # the whole version: alias, reference profile and event; the gate never ran
    assert world.registry.aliases == {CHALLENGER: 1}
    assert ("fake-model", 1) in world.profiles.profiles
    assert [(type(e), e.version) for e in world.publisher.events] == [(ModelRegistered, 1)]
    assert "promotion_decision" not in world.registry.get(1).tags
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_runs[0]).state
    assert state is not None
    assert state.is_final(), state
