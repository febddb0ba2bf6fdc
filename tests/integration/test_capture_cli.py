"""`fraud capture compact` in-process (typer's runner) over a real container on a temporary FRAUD_HOME."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fraud_detection.composition import Container, use_container
from fraud_detection.entrypoints.api.app import report_metrics
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.settings import Settings
from tests.prediction_batches import scored_batch

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def container(tmp_path: Path) -> Iterator[Container]:
    built = Container(Settings(home=tmp_path))
    use_container(built)
    yield built
    use_container(None)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_compact_merges_a_closed_hour_and_says_what_it_did(container: Container) -> None:
    store = container.adapters.object_store()
    three_hours_ago = time.time() - 3 * 3600
    with ParquetPredictionLog(store, max_rows=4) as log:
        for request in range(6):
            log.append(scored_batch(f"r{request}", 2, three_hours_ago))  # 3 files
    before = read_predictions(store).table.num_rows

    merged = run("capture", "compact", "--json")
    assert merged.exit_code == 0, merged.output
    assert json.loads(merged.output) == {
        "hours": 1, "files_merged": 3, "rows": 12, "files_deleted": 0, "hours_left": 0
    }  # fmt: skip
    assert read_predictions(store).table.num_rows == before == 12

    again = run("capture", "compact")
    assert again.exit_code == 0, again.output
    assert "merged 0 files into 0 hourly files (0 rows); deleted 0 files merged earlier" in again.output


@pytest.mark.parametrize(
    "args",
    [["--hours", "0"], ["--budget", "0"], ["--hours", "soon"], ["--hours", "1e12"], ["--hours", "inf"]],
)
def test_bad_options_exit_2_naming_the_option(args: list[str]) -> None:
    result = run("capture", "compact", *args)
    assert result.exit_code == 2
    assert args[0] in result.output


def test_a_run_leaves_the_report_the_api_exports_on_metrics(container: Container) -> None:
    assert run("capture", "compact").exit_code == 0
    registry = report_metrics(container)
    assert registry.get_sample_value("fraud_capture_compaction_failed") == 0.0
    assert registry.get_sample_value("fraud_capture_compaction_hours_left") == 0.0
