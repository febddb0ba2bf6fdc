"""`fraud drift check|show` in-process (typer's runner) over a real container on a temporary FRAUD_HOME:
window arguments, an empty window, and refusals with exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def container(tmp_path, monkeypatch):
    built = Container(Settings(home=tmp_path))
    use_container(built)
    yield built
    use_container(None)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_no_report_yet_is_said_plainly() -> None:
    result = run("drift", "show")
    assert result.exit_code == 2
    assert "no drift report yet; run `fraud drift check`" in result.output


def test_an_empty_window_is_a_stored_insufficient_data_report() -> None:
    checked = run("drift", "check", "--hours", "2", "--json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    assert report["status"] == "insufficient_data"
    shown = run("drift", "show", "--json")
    assert json.loads(shown.output)["id"] == report["id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "0"], "--hours: must be more than 0 and at most 8,784 (a year), got 0.0"),
        (["--hours", "nan"], "--hours: must be more than 0"),
        (["--hours", "inf"], "at most 8,784 (a year), got inf"),  # was an OverflowError traceback
        (["--hours", "1e12"], "at most 8,784 (a year)"),
        (["--since", "0001-01-01T00:00:00+14:00"], "the window is out of range"),  # was an OverflowError
        (["--until", "0001-01-01"], "the window is out of range"),
        (["--hours", "2", "--since", "2026-01-01"], "give --hours or --since, not both"),
        (
            ["--since", "2026-01-02", "--until", "2026-01-01"],
            "--since/--until: the window is empty: --since 2026-01-02 00:00:00 UTC is not before --until "
            "2026-01-01 00:00:00 UTC; give a start before the end",
        ),
        (["--last-rows", "0"], "--last-rows"),
        (["--since", "9999-12-31"], "--since: 9999-12-31 00:00:00 UTC is in the future"),  # was empty
        # It blamed --since, which was not given.
        (["--hours", "2", "--until", "9999-12-31"], "--until: the window (2 h up to it) starts in the"),
        (["--until", "9999-12-31"], "--until: the window (FRAUD_DRIFT_WINDOW_HOURS up to it) starts in"),
    ],
)
def test_bad_windows_exit_2_naming_the_problem(args: list[str], message: str) -> None:
    result = run("drift", "check", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_past_window_is_stored_as_historical_and_show_keeps_the_live_report() -> None:
    live = json.loads(run("drift", "check", "--hours", "2", "--json").output)
    past = run("drift", "check", "--since", "2020-01-01", "--until", "2020-01-02", "--no-publish")
    assert past.exit_code == 0, past.output
    assert "stored as a historical report" in past.output
    assert "the live verdict (`fraud drift show`, /metrics) is unchanged" in past.output
    assert json.loads(run("drift", "show", "--json").output)["id"] == live["id"]
    listed = json.loads(run("drift", "list", "--json").output)
    assert [(r["historical"], r["id"]) for r in listed][1] == (False, live["id"])
    assert listed[0]["historical"] is True
    assert listed[0]["window"]["rows"] == 0


def test_a_window_ending_ahead_is_a_live_check() -> None:
    ahead = run("drift", "check", "--since", "2020-01-01", "--until", "2999-01-01", "--json")
    assert ahead.exit_code == 0, ahead.output
    report = json.loads(ahead.output)
    assert report["historical"] is False
    assert json.loads(run("drift", "show", "--json").output)["id"] == report["id"]


def test_no_report_to_list_is_said_plainly() -> None:
    result = run("drift", "list")
    assert result.exit_code == 0
    assert "no drift report yet" in result.output


HEAVY_FOR_A_CHECK = {"scipy", "pandas", "prefect", "mlflow", "lightgbm", "matplotlib", "fastapi", "boto3"}


def test_a_real_check_of_a_captured_window_imports_only_what_it_uses(tmp_path) -> None:
    """The 2 s answer of `fraud drift check` rests on what it does not import (scipy alone is 0.2 s): a fresh
    interpreter checks a 2,000-row window and reports every top-level package it loaded."""
    import os
    import subprocess
    import sys
    import time

    import numpy as np

    from fraud_detection.application.drift.reference import StoreReferenceProfile
    from fraud_detection.domain.decision import flagged
    from fraud_detection.domain.ports.prediction_log import PredictionBatch
    from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
    from fraud_detection.infrastructure.documents.reference_profiles import ObjectStoreReferenceProfiles
    from fraud_detection.infrastructure.local import LocalObjectStore

    store = LocalObjectStore(tmp_path / "store")
    rng = np.random.default_rng(3)
    inputs, scores = rng.normal(size=(20_000, 29)), rng.beta(0.5, 20, size=20_000)
    StoreReferenceProfile(ObjectStoreReferenceProfiles(store))("fraud-lgbm", 1, inputs, scores, 0.2)
    log = ParquetPredictionLog(store, max_rows=10_000, max_seconds=60)
    window = rng.beta(0.5, 20, size=2_000)
    log.append(PredictionBatch(
        inputs[:2_000], np.zeros(2_000), tuple(f"tx-{i}" for i in range(2_000)), window, flagged(window, 0.2),
        "fraud-lgbm", 1, "r", time.time(),
    ))  # fmt: skip
    log.close()
    code = (  # the packages loaded when the command ends, one line on stderr
        "import atexit, sys;"
        "atexit.register(lambda: print(*{m.split('.')[0] for m in sys.modules}, file=sys.stderr));"
        "from fraud_detection.entrypoints.cli.app import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "drift", "check", "--last-rows", "2000", "--no-publish", "--json"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "FRAUD_HOME": str(tmp_path / "home"), "FRAUD_STORAGE_URI": store.root.as_uri()},
    )  # fmt: skip
    modules = set(done.stderr.splitlines()[-1].split())
    assert json.loads(done.stdout)["window"]["rows"] == 2_000
    assert {"numpy", "pyarrow", "fraud_detection"} <= modules
    assert sorted(modules & HEAVY_FOR_A_CHECK) == []
