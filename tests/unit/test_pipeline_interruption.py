"""A stop request (the CLI's Ctrl-C handler) ends a run at a stage boundary and never halfway through
`register`: the pipeline with every port faked, wired by the real container (tests/unit/conftest.py)."""

import io
from contextlib import contextmanager

import pytest
from rich.console import Console

from fraud_detection.application.interruption import Interrupted, Interruption
from fraud_detection.application.progress import PipelineObserver, StageClock
from fraud_detection.domain.events import ModelRegistered
from fraud_detection.domain.model import CHALLENGER, CHAMPION
from fraud_detection.entrypoints.cli.interrupts import what_was_left
from fraud_detection.entrypoints.cli.progress import ConsoleProgress


def started(world) -> list[str]:
    return [stage for kind, stage in world.observer.events if kind == "start"]


def test_a_stop_the_running_stage_did_not_act_on_keeps_the_next_stage_from_starting(world, monkeypatch):
    """Say a library swallowed the KeyboardInterrupt during training: evaluate and register never start."""
    interruption = world.container.interruption()
    fit = world.trainer.fit_fold

    def fit_then_stop(*args, **kwargs):
        assert interruption.request() is True  # outside `register` the handler may stop the work at once
        return fit(*args, **kwargs)

    monkeypatch.setattr(world.trainer, "fit_fold", fit_then_stop)
    with pytest.raises(Interrupted, match="before evaluate"):
        world.run_pipeline()
    assert started(world) == ["ingest", "validate", "features", "train"]
    assert world.registry.versions == {}
    assert world.publisher.events == []


def test_a_stop_during_register_lets_it_finish_whole_and_the_gate_never_runs(world, monkeypatch):
    interruption = world.container.interruption()
    register = world.registry.register

    def register_then_stop(*args, **kwargs):
        version = register(*args, **kwargs)
        assert interruption.request() is False  # the handler must not raise: the stage is atomic
        return version

    monkeypatch.setattr(world.registry, "register", register_then_stop)
    with pytest.raises(Interrupted, match="before promote"):
        world.run_pipeline()
    # the whole version: alias, reference profile and event, and no gate decision
    assert world.registry.aliases == {CHALLENGER: 1}
    assert ("fake-model", 1) in world.profiles.profiles
    assert [(type(e), e.version) for e in world.publisher.events] == [(ModelRegistered, 1)]
    assert ("done", "register") in world.observer.events
    assert "promote" not in started(world)


def test_a_stop_as_register_is_announced_lets_it_finish_whole(world, monkeypatch):
    """The signal lands between the display's "register started" and the stage's first step: the stage is
    atomic already, so it runs whole and the report can say so (it said "stopped while registering")."""
    interruption = world.container.interruption()
    stage_started = world.observer.stage_started

    def announce_then_stop(stage: str) -> None:
        stage_started(stage)
        if stage == "register":
            assert interruption.request() is False  # the handler must not raise: the stage is atomic

    monkeypatch.setattr(world.observer, "stage_started", announce_then_stop)
    with pytest.raises(Interrupted, match="before promote"):
        world.run_pipeline()
    assert world.registry.aliases == {CHALLENGER: 1}
    assert ("done", "register") in world.observer.events


def test_a_stop_requested_before_register_keeps_it_from_starting(world):
    interruption = world.container.interruption()
    pipeline = world.pipeline()
    with pipeline.session(pipeline.ingest("good.csv")) as session:
        session.validate()
        session.build_features()
        session.train()
        session.evaluate()
        interruption.request()
        with pytest.raises(Interrupted, match="before register"):
            session.register()
    assert world.registry.versions == {}
    assert "register" not in started(world)


def test_the_first_signal_is_the_one_reported():
    interruption = Interruption()
    assert not interruption.requested
    interruption.check("train")  # nothing requested: no-op
    assert interruption.request(15) is True
    interruption.request(2)
    assert interruption.requested
    assert interruption.signal == 15


def report(running: str | None, finished: list[str], signal: int = 2) -> str:
    progress = ConsoleProgress(Console(file=io.StringIO()))
    progress.running = running
    progress.finished = {
        stage: "fraud-lgbm v3 @challenger" if stage == "register" else "" for stage in finished
    }
    interruption = Interruption()
    interruption.request(signal)
    return what_was_left(progress, interruption)


@pytest.mark.parametrize(
    ("running", "finished", "signal", "expected"),
    [
        (None, [], 2, "interrupted: the pipeline stopped before its first stage; nothing was registered"),
        (
            "train",
            ["ingest"],
            2,
            "interrupted: the pipeline stopped during train, before registering; nothing",
        ),
        (
            None,
            ["ingest", "evaluate"],
            15,
            "terminated: the pipeline stopped before registering; nothing was",
        ),
        (
            None,
            ["evaluate", "register"],
            2,
            "after registering fraud-lgbm v3 @challenger; the promotion gate decided",
        ),
        (
            "register",
            ["evaluate"],
            15,
            "terminated: the pipeline stopped while registering; `fraud model list` shows",
        ),
    ],
)
def test_the_report_says_how_far_the_run_got(running, finished, signal, expected):
    assert expected in report(running, finished, signal)


def test_a_stop_while_the_gate_decides_records_no_decision(world, monkeypatch):
    interruption = world.container.interruption()
    get_by_alias = world.registry.get_by_alias

    def read_then_stop(alias):
        interruption.request()  # say the KeyboardInterrupt was swallowed: the gate still records nothing
        return get_by_alias(alias)

    monkeypatch.setattr(world.registry, "get_by_alias", read_then_stop)
    with pytest.raises(Interrupted, match="before promote"):
        world.run_pipeline()
    assert world.registry.aliases == {CHALLENGER: 1}
    assert "promotion_decision" not in world.registry.get(1).tags
    assert "promotion_decision" not in world.tracker.runs[0].tags


def test_a_stop_while_the_gate_records_lets_it_record_everything(world, monkeypatch):
    interruption = world.container.interruption()
    set_tag = world.registry.set_tag

    def tag_then_stop(version, key, value):
        if key == "promotion_decision":  # the gate's first record (register tags the version too)
            assert interruption.request() is False
        return set_tag(version, key, value)

    monkeypatch.setattr(world.registry, "set_tag", tag_then_stop)
    summary = world.run_pipeline()  # promote is the last stage: the run ends, the CLI reports the stop
    assert interruption.requested
    assert summary.decision.promote
    assert world.registry.aliases == {CHAMPION: 1}
    assert world.registry.get(1).tags["promotion_decision"] == "promote"
    assert world.tracker.runs[0].tags["promotion_decision"] == "promote"


def test_under_an_orchestrator_a_stop_between_stages_waits_for_the_next_one(world, monkeypatch):
    """Between stages the orchestrator records their states (Prefect's bookkeeping): a stop must not raise
    there. The stage that just ended stays whole and the next one refuses to start."""
    interruption = world.container.interruption()
    interruption.stop_at_stages()
    stage_finished = world.observer.stage_finished
    answers: list[bool] = []

    def finish_then_stop(stage: str, seconds: float, detail: str) -> None:
        stage_finished(stage, seconds, detail)
        if stage == "features":
            answers.append(interruption.request(15))

    monkeypatch.setattr(world.observer, "stage_finished", finish_then_stop)
    with pytest.raises(Interrupted, match="before train"):
        world.run_pipeline()
    assert answers == [False]  # the handler must not raise here
    assert started(world) == ["ingest", "validate", "features"]
    assert world.registry.versions == {}


def test_under_an_orchestrator_a_stop_in_a_stages_own_code_lands_at_once(world, monkeypatch):
    interruption = world.container.interruption()
    interruption.stop_at_stages()
    fit = world.trainer.fit_fold
    answers: list[bool] = []

    def fit_then_stop(*args, **kwargs):
        answers.append(interruption.request())
        return fit(*args, **kwargs)

    monkeypatch.setattr(world.trainer, "fit_fold", fit_then_stop)
    with pytest.raises(Interrupted, match="before evaluate"):  # the fake went on: the next check stops it
        world.run_pipeline()
    assert answers[0] is True
    assert ("start", "train") in world.observer.events


def test_a_second_stop_between_stages_lands_at_once_but_never_inside_an_atomic_stage():
    interruption = Interruption()
    interruption.stop_at_stages()
    assert interruption.request(2) is False  # the first waits for the next stage
    assert interruption.request(2) is True  # the operator insists
    with pytest.raises(Interrupted), interruption.atomic("register"):  # no start once a stop was asked
        pass
    atomic_answers: list[bool] = []
    fresh = Interruption()
    fresh.stop_at_stages()
    with fresh.atomic("register"):
        atomic_answers += [fresh.request(2), fresh.request(2)]
    assert atomic_answers == [False, False]


def test_a_stop_landing_while_a_stage_is_announced_keeps_its_code_from_running():
    """Under an orchestrator, a stop between the stage's check and its code waits for a check; entering
    the code is that check (it once waited for the next stage's, and `train` ran whole)."""
    interruption = Interruption()
    interruption.stop_at_stages()
    answers: list[bool] = []

    class Announcing(PipelineObserver):
        def stage_started(self, stage: str) -> None:
            answers.append(interruption.request(2))  # the signal lands while the spinner starts

    clock = StageClock(Announcing(), interruption)
    ran = False
    with pytest.raises(Interrupted, match="before train"), clock.stage("train"):
        ran = True
    assert answers == [False]  # the handler could not raise there
    assert not ran


def test_stoppable_blocks_nest_and_restore_what_they_found():
    interruption = Interruption()
    interruption.stop_at_stages()
    with interruption.stoppable():
        with interruption.stoppable():
            pass
        assert interruption.request(2) is True  # still inside the outer block
    fresh = Interruption()
    fresh.stop_at_stages()
    with fresh.stoppable():
        pass
    assert fresh.request(2) is False  # the block ended


def test_an_orchestrated_run_lets_the_entry_point_take_its_handler_back_first():
    interruption = Interruption()
    calls: list[str] = []
    interruption.reclaim = lambda: calls.append("reclaim")
    interruption.stop_at_stages()
    assert calls == ["reclaim"]
    Interruption().stop_at_stages()  # no entry point owns the signals (a Prefect worker): nothing to do


def test_an_atomic_block_runs_inside_the_hold_and_a_refused_one_never_enters_it():
    """`hold` keeps the process's signals away from the block (the composition root's: held_signals)."""
    events: list[str] = []

    @contextmanager
    def hold():
        events.append("hold")
        yield
        events.append("release")

    interruption = Interruption(hold=hold)
    with interruption.atomic("register"):
        events.append("register")
    assert events == ["hold", "register", "release"]
    interruption.request(15)
    with pytest.raises(Interrupted), interruption.atomic("register"):
        events.append("registered after the stop")
    assert events == ["hold", "register", "release"]
