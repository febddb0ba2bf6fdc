"""`fraud pipeline run --summary-json`: what a script reads when the run is stopped, when the file cannot be
written after the run finished, and when the hung-Prefect ending cannot report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import use_container
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.entrypoints.cli import outputs, pipeline, prefect_hang
from fraud_detection.entrypoints.cli.app import app
from tests.unit.conftest import World


def run(world: World, tmp_path: Path, target: str) -> object:
    source = tmp_path / "data.csv"
    source.write_text("x\n")
    use_container(world.container)
    try:
        return CliRunner().invoke(app, ["pipeline", "run", "--source", str(source), "--summary-json", target])
    finally:
        use_container(None)


class DownBucket:
    def write_file(self, key: str, path: Path) -> None:
        raise ServiceUnavailableError("S3 PutObject: Read timeout on endpoint URL")


def test_a_finished_run_whose_summary_cannot_be_written_does_not_say_try_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: "a service is down or unreachable; try again"; a CI job that did trained another version."""
    world = World()
    summary = world.run_pipeline()  # trained, registered, the gate decided
    monkeypatch.setattr(pipeline, "_run_flow", lambda source, force, report: summary)
    monkeypatch.setattr(outputs, "_bucket", lambda bucket: DownBucket())
    result = run(world, tmp_path, "s3://ci/summary.json")
    assert result.exit_code == 1
    assert "try again" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: the run finished (v1 registered, promoted), but --summary-json was not written: S3 "
        "PutObject: Read timeout on endpoint URL; running it again would train another version (`fraud "
        "model list` shows this one)"
    )


def test_a_stopped_run_replaces_the_previous_runs_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, yesterday's "succeeded" stayed in the file after a Ctrl-C."""
    target = tmp_path / "summary.json"
    target.write_text(json.dumps({"status": "succeeded", "model": {"version": 7}}))

    def stopped(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_run_flow", stopped)
    result = run(World(), tmp_path, str(target))
    assert result.exit_code == 130
    written = json.loads(target.read_text())
    assert (written["status"], written["stopped_stage"], written["finished_stages"]) == (
        "interrupted",
        None,
        [],
    )


def test_the_hang_ending_ends_the_process_even_when_its_report_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, the watchdog's thread died with a traceback and the command stayed held by Prefect."""
    exits: list[int] = []
    monkeypatch.setattr(prefect_hang, "_exit_now", exits.append)

    def report(result: object) -> None:
        raise OSError(5, "Input/output error", "summary.json")

    prefect_hang.hang_ending("pipeline", report)(object(), "no answer from it 60 s after the run finished")
    assert exits == [1]
    assert "error: the pipeline run's report failed: [Errno 5] Input/output error" in capsys.readouterr().err


@pytest.mark.parametrize(
    "existing",
    ["Time,V1\n1,2\n", "PAR1\x00\x01", '{"not": "a summary"}', '[{"status": "succeeded"}]'],
)
def test_the_summary_replaces_a_previous_summary_never_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: str
) -> None:
    """`--summary-json data.csv --source data.csv` replaced the run's raw data with the summary."""
    target = tmp_path / "data.csv"  # `run` also reads its --source from this path
    monkeypatch.setattr(pipeline, "_run_flow", lambda *args: pytest.fail("the run must not start"))
    use_container(World().container)
    try:
        target.write_text(existing)
        result = CliRunner().invoke(
            app, ["pipeline", "run", "--source", str(target), "--summary-json", str(target)]
        )
    finally:
        use_container(None)
    assert result.exit_code == 2
    assert f"--summary-json: '{target}' exists and is not a run summary" in result.stderr
    assert target.read_text() == existing


def test_a_summary_name_too_long_for_the_file_system_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "_run_flow", lambda *args: pytest.fail("the run must not start"))
    result = run(World(), tmp_path, str(tmp_path / ("s" * 251 + ".json")))
    assert result.exit_code == 2
    assert "File name too long" in result.stderr
