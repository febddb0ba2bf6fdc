"""`fraud batch submit` in embedded mode (no broker; the job runs in the command's process), in-process with
typer's runner over a real container: the exit code of a failed job says whether running it again can help."""

from __future__ import annotations

import threading
import time

import pytest
from dependency_injector import providers
from typer.testing import CliRunner

from fraud_detection.application.batch.patience import OutagePatience
from fraud_detection.composition import Container, get_container, use_container
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.entrypoints.cli import batch as batch_cli
from fraud_detection.entrypoints.cli import status_reads
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.settings import Settings
from tests.builders import transactions
from tests.fakes import FakeModel, FakeRegistry

pytestmark = pytest.mark.integration
# the workers' 12 retries, without their minutes (a cancel still ends the wait)
NO_WAITS = OutagePatience(pause=lambda seconds, stop: stop.is_set())


@pytest.fixture
def home(tmp_path):
    registry = FakeRegistry()
    registry.uri_models["models:/1"] = FakeModel(1.0)
    registry.register("models:/1", "run-1", ModelMetadata("fe-1", 0.5, "d" * 64, {"auprc": 0.9}))
    registry.set_alias(CHAMPION, 1)
    container = Container(Settings(home=tmp_path))
    container.adapters.registry.override(providers.Object(registry))
    container.batch.outage_patience.override(providers.Object(NO_WAITS))
    use_container(container)
    inputs = tmp_path / "batch" / "in"
    inputs.mkdir(parents=True)
    transactions(300).drop(columns=["Class"]).to_csv(inputs / "day.csv", index=False)
    yield tmp_path, registry
    use_container(None)


def submit(home, name: str):
    folder, _ = home
    source, target = folder / "batch" / "in" / "day.csv", folder / "batch" / "out" / f"{name}.parquet"
    return CliRunner().invoke(app, ["batch", "submit", str(source), str(target), "--job-id", name])


def test_a_job_failed_by_an_outage_exits_1_and_one_failed_by_its_input_exits_2(home):
    folder, registry = home
    assert submit(home, "fine").exit_code == 0
    registry.down = True  # the registry is out past the retries: the same job may succeed later
    down = submit(home, "down")
    assert down.exit_code == 1, down.output
    assert "job down failed: " in down.stderr
    assert "unreachable" in down.stderr
    registry.down = False
    (folder / "batch" / "in" / "day.csv").write_text("Time,V1\n1,2\n")  # missing columns: fix it first
    bad = submit(home, "bad")
    assert bad.exit_code == 2, bad.output
    assert "job bad failed: " in bad.stderr


class StatusOutage:
    """The job control of a real container whose status reads fail while `down` is above zero: the object
    store holding the job records is out for the follower (the job itself runs on)."""

    def __init__(self, control, down: int) -> None:
        self._control, self.down = control, down

    def __getattr__(self, name: str):
        return getattr(self._control, name)

    def status(self, job_id: str):
        current = self._control.status(job_id)  # the job's record exists: only the follower's read fails
        if self.down > 0:
            self.down -= 1
            raise ServiceUnavailableError(f"cannot read s3://b/jobs/{job_id}/request.json: Read timeout")
        return current


def follow_through_outage(home, monkeypatch, down: int):
    container = get_container()
    outage = StatusOutage(container.batch.job_control(), down)
    container.batch.job_control.override(providers.Object(outage))
    monkeypatch.setattr(status_reads, "RETRY_SECONDS", 0.01)
    monkeypatch.setattr(status_reads, "OUTAGE_PATIENCE_SECONDS", 0.5)
    return submit(home, f"outage-{down}")


def test_a_follower_waits_out_a_status_outage_and_reports_the_job_that_succeeded(home, monkeypatch):
    result = follow_through_outage(home, monkeypatch, down=3)
    assert result.exit_code == 0, result.output
    assert "outage-3: succeeded, 300/300 rows" in result.stdout
    assert result.stderr.count("cannot read its status") == 1
    assert result.stderr.count("status readable again") == 1
    assert "Traceback" not in result.output


def test_a_follower_gives_up_past_its_patience_saying_the_job_may_still_end(home, monkeypatch):
    result = follow_through_outage(home, monkeypatch, down=10**6)
    assert result.exit_code == 1, result.output
    assert "stayed unreadable for" in result.stderr
    assert "`fraud batch status outage-1000000`" in result.stderr
    assert "Traceback" not in result.output


class UnrecordableEnds:
    """A job store whose `finish` fails as an unreachable store would: a run that fails cannot say so."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def finish(self, *args, **kwargs):
        raise ServiceUnavailableError("cannot write s3://b/jobs/x/outcome.json: Read timeout")


@pytest.mark.timeout(60)  # the old follower polled a record nothing would ever close, for ever
def test_a_run_here_that_could_not_record_its_end_stops_the_follower_pointing_to_resume(home, caplog):
    _, registry = home
    container = get_container()
    container.adapters.job_store.override(providers.Object(UnrecordableEnds(container.adapters.job_store())))
    registry.down = True  # the run fails, and its failure cannot be recorded either
    result = submit(home, "lost")
    assert result.exit_code == 1, result.output
    assert "job lost: its run in this process ended without recording an end" in result.stderr
    assert "`fraud batch resume lost`" in result.stderr
    (line,) = [r for r in caplog.records if r.name.endswith("in_process_jobs")]
    assert line.getMessage() == (
        "batch job lost stopped without recording its end: recording its failure: cannot write "
        "s3://b/jobs/x/outcome.json: Read timeout (gave up after 12 retries); the failure not recorded: "
        "prepare: registry at fake:// is unreachable (gave up after 12 retries)"
    )
    assert line.exc_info is None


class HeldAtSecondChunk(FakeModel):
    """Scores the first chunk at once and holds the second until `release` is set: a job in progress."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self.calls, self.in_second, self.release = 0, threading.Event(), threading.Event()

    def predict_matrix(self, features):
        self.calls += 1
        if self.calls == 2:
            self.in_second.set()
            self.release.wait(10)
        return super().predict_matrix(features)


def ctrl_c_during(model: HeldAtSecondChunk, monkeypatch):
    """The follower's first poll after the job reached its second chunk raises KeyboardInterrupt (Ctrl-C);
    the chunk is let go a moment later, after the cancel has landed."""
    polls = {"n": 0}

    def sleep(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 1:
            assert model.in_second.wait(10)
            threading.Timer(0.3, model.release.set).start()
            raise KeyboardInterrupt

    monkeypatch.setattr(batch_cli.time, "sleep", sleep)


@pytest.fixture
def chunked(tmp_path):
    model = HeldAtSecondChunk()
    registry = FakeRegistry()
    registry.uri_models["models:/1"] = model
    registry.register("models:/1", "run-1", ModelMetadata("fe-1", 0.5, "d" * 64, {"auprc": 0.9}))
    registry.set_alias(CHAMPION, 1)
    container = Container(Settings(home=tmp_path, batch_chunk_rows=50))
    container.adapters.registry.override(providers.Object(registry))
    use_container(container)
    inputs = tmp_path / "batch" / "in"
    inputs.mkdir(parents=True)
    transactions(300).drop(columns=["Class"]).to_csv(inputs / "day.csv", index=False)
    yield (tmp_path, registry), model, container
    use_container(None)


@pytest.mark.timeout(60)
def test_ctrl_c_cancels_the_job_this_process_runs_and_exits_130(chunked, monkeypatch):
    """Before, the command exited under its running job, which then failed as `internal` ("cannot
    schedule new futures after interpreter shutdown") or, here without a shutdown, went on to succeed."""
    home, model, container = chunked
    ctrl_c_during(model, monkeypatch)
    result = submit(home, "stopped")
    assert result.exit_code == 130, result.output
    assert "interrupted: cancelling job stopped; its current chunk ends first" in result.stderr
    assert "stopped: cancelled, " in result.stdout
    status = container.batch.job_control().status("stopped")
    assert status.state.value == "cancelled"
    assert not (home[0] / "batch" / "out" / "stopped.parquet").exists()
    assert not container.batch.job_queue().holds("stopped")  # the run ended before the command did


@pytest.mark.timeout(20)  # before, the cancel waited for the run's 30 s outage wait to end
def test_ctrl_c_during_an_outage_wait_cancels_the_job_without_waiting_for_the_outage(home, monkeypatch):
    folder, registry = home
    container = get_container()
    waiting = threading.Event()

    def draw(low: float, high: float) -> float:  # the run is about to wait out the registry's outage
        waiting.set()
        return 30.0

    container.batch.outage_patience.override(providers.Object(OutagePatience(draw=draw)))
    registry.down = True

    def sleep(seconds: float) -> None:  # the follower's poll: Ctrl-C once the run waits
        assert waiting.wait(10)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_cli.time, "sleep", sleep)
    started = time.monotonic()
    result = submit(home, "outage")
    assert result.exit_code == 130, result.output
    assert time.monotonic() - started < 10
    assert "outage: cancelled, " in result.stdout
    assert container.batch.job_control().status("outage").state.value == "cancelled"
    assert not container.batch.job_queue().holds("outage")  # the run ended before the command did
    assert not (folder / "batch" / "out" / "outage.parquet").exists()


class CancelRefused:
    """The real job control, whose cancel meets a store outage."""

    def __init__(self, control) -> None:
        self._control = control

    def __getattr__(self, name: str):
        return getattr(self._control, name)

    def cancel(self, job_id: str):
        where = f"s3://b/jobs/{job_id}/cancel-requested.json"
        raise ServiceUnavailableError(f"cannot write {where}: Read timeout")


@pytest.mark.timeout(60)
def test_ctrl_c_whose_cancel_the_store_refuses_exits_at_once_leaving_the_job_open(chunked, monkeypatch):
    home, model, container = chunked
    container.batch.job_control.override(providers.Object(CancelRefused(container.batch.job_control())))
    ctrl_c_during(model, monkeypatch)
    exits: list[int] = []

    def hard_exit(code: int) -> None:  # os._exit would end the test run: record the code and stop here
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(batch_cli.os, "_exit", hard_exit)
    result = submit(home, "open")
    assert exits == [130]
    assert result.exit_code == 130
    assert "job open left open (cannot write s3://b/jobs/open/cancel-requested.json: Read timeout)" in (
        result.stderr
    )
    assert "`fraud batch resume open` goes on from its last chunk" in result.stderr
    model.release.set()
    container.batch.job_queue().wait("open", timeout=30)


class InterruptedSubmit:
    """The real submit use case, with a Ctrl-C landing just before it (`after=False`) or just after it
    recorded and queued the job (`after=True`), before the command could print the id or follow it."""

    def __init__(self, submit, after: bool) -> None:
        self._submit, self._after = submit, after

    def __call__(self, *args, **kwargs):
        if self._after:
            self._submit(*args, **kwargs)
        raise KeyboardInterrupt


@pytest.mark.timeout(60)
def test_ctrl_c_while_the_job_is_submitted_cancels_it_once_recorded(chunked):
    home, model, container = chunked
    submit_job = container.batch.submit_job()
    container.batch.submit_job.override(providers.Object(InterruptedSubmit(submit_job, after=True)))
    threading.Timer(0.5, model.release.set).start()  # the run is held at its second chunk meanwhile
    result = submit(home, "early")
    assert result.exit_code == 130, result.output
    assert "interrupted: cancelling job early" in result.stderr
    assert container.batch.job_control().status("early").state.value == "cancelled"
    assert not container.batch.job_queue().holds("early")
    before = InterruptedSubmit(submit_job, after=False)
    container.batch.submit_job.override(providers.Object(before))
    nothing = submit(home, "never")
    assert nothing.exit_code == 130, nothing.output
    assert "job never was not recorded: nothing to cancel" in nothing.stderr


def test_the_failure_of_a_job_run_here_is_printed_once_even_when_its_run_logs_late(home, monkeypatch, caplog):
    """The run logs its failure a moment after recording it; the command's filter of that line was gone by
    then, and the log line printed after the command's own error (seen in the e2e suite)."""
    import logging

    from fraud_detection.application.batch import steps

    caplog.set_level(logging.WARNING)
    folder, _ = home
    (folder / "batch" / "in" / "bad.csv").write_text("Time,Amount\n0,1.5\n")
    warning = steps.logger.warning

    def late(message: str, *args: object) -> None:
        if message == steps.JOB_FAILED:
            time.sleep(1.0)  # the follower has seen the recorded failure by now
        warning(message, *args)

    monkeypatch.setattr(steps.logger, "warning", late)
    target = folder / "batch" / "out" / "bad.parquet"
    result = CliRunner().invoke(
        app, ["batch", "submit", str(folder / "batch" / "in" / "bad.csv"), str(target)]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].startswith("error: job ")
    time.sleep(1.5)  # a run still under way would have logged by now
    assert not [record for record in caplog.records if record.msg == steps.JOB_FAILED]


class ScriptedControl:
    """A job's statuses as a follower reads them, one per look: its rows land in chunks."""

    def __init__(self, *scored: int, total: int | None = 1_000_000) -> None:
        from fraud_detection.domain.jobs import JobRequest, JobState, JobStatus

        request = JobRequest("long", "/in/day.csv", "/out/day.parquet", "champion", "now")
        self.looks = [JobStatus("long", JobState.RUNNING, request, total, rows) for rows in scored]
        self.looks.append(JobStatus("long", JobState.SUCCEEDED, request, total, total or scored[-1]))

    def status(self, job_id: str):
        return self.looks.pop(0) if len(self.looks) > 1 else self.looks[0]


def test_a_piped_follower_prints_a_line_with_the_time_left_as_rows_are_scored(home, monkeypatch, capsys):
    """A 3M-row job printed nothing between its id and its end when piped (a CI log, a scheduler)."""
    monkeypatch.setattr(batch_cli, "POLL_SECONDS", 0.0)
    monkeypatch.setattr(batch_cli, "PIPED_LINE_SECONDS", 0.0)
    control = ScriptedControl(0, 250_000, 250_000, 500_000)
    get_container().batch.job_control.override(providers.Object(control))
    batch_cli._follow("long")
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [
        "job long: 250,000/1,000,000 rows",
        "job long: 500,000/1,000,000 rows",
    ]
    assert err[0].startswith("job long: 250,000/1,000,000 rows (25%), about ")
    assert " left, " in err[1]
    assert err[1].endswith(" s in")
    get_container().batch.job_control.override(providers.Object(ScriptedControl(0, 7, total=None)))
    batch_cli._follow("long")
    assert capsys.readouterr().err.startswith("job long: 7 rows, ")  # the total not planned yet
