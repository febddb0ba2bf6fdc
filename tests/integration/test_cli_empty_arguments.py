"""An empty argument is refused naming it, and an output is checked before any work: `--output ""` wrote the
default dataset, `--summary-json ""` ran without a summary, `--at ""` meant now, `--model ""` recorded a job
that failed, and a `--summary-json` under a regular file was found only after training and registering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration

CASES = {
    "generate-output-empty": (["data", "generate", "--rows", "100", "--output", ""], "--output: empty"),
    "generate-output-under-a-file": (
        ["data", "generate", "--rows", "100", "--output", "{home}/afile/x.csv"],
        "--output: '{home}/afile/x.csv': {home}/afile is a file, not a folder",
    ),
    "generate-into-the-store": (
        ["data", "generate", "--rows", "100", "--output", "{home}/store/raw/abc/data.parquet"],
        "--output: '{home}/store/raw/abc/data.parquet' is inside the store",
    ),
    "summary-json-empty": (["pipeline", "run", "--summary-json", ""], "--summary-json: empty"),
    "summary-json-under-a-file": (
        ["pipeline", "run", "--summary-json", "{home}/afile/s.json"],
        "--summary-json: '{home}/afile/s.json': {home}/afile is a file, not a folder",
    ),
    "feedback-at-empty": (["feedback", "add", "--id", "t1", "--fraud", "--at", ""], "--at: '' is not"),
    "feedback-import-empty": (["feedback", "import", ""], "FILE.csv: empty"),
    "batch-model-empty": (
        ["batch", "submit", "{home}/in.csv", "{home}/o.parquet", "--model", ""],
        "--model: empty",
    ),
}


@pytest.fixture
def home(tmp_path: Path):
    (tmp_path / "afile").write_text("a file, not a folder\n")
    use_container(Container(Settings(home=tmp_path)))
    yield tmp_path
    use_container(None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_before_any_work_naming_the_argument(home: Path, case: str) -> None:
    command, message = CASES[case]
    before = sorted(home.rglob("*"))
    result = CliRunner().invoke(app, [part.format(home=home) for part in command])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {message.format(home=home)}"), result.stderr
    assert sorted(home.rglob("*")) == before  # nothing written: no dataset, no store, no job


def test_the_fraud_rate_sets_the_share_a_scenario_changes_to(home: Path) -> None:
    """`--fraud-rate 0.5 --scenario fraud_rate_change` wrote 1% of frauds: the option was dropped."""
    output = home / "shifted.csv"
    command = ["data", "generate", "--rows", "1000", "--fraud-rate", "0.5", "--scenario", "fraud_rate_change"]
    result = CliRunner().invoke(app, [*command, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(output)["Class"].sum() == 500
