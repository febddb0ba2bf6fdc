"""prefect.yaml: deployments register with a schedule, and a worker runs the flow from a deployment."""

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import make_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def test_deployments_register_and_a_worker_trains_a_champion(tmp_path, prefect_api_url):
    cli = make_cli(tmp_path, PREFECT_API_URL=prefect_api_url, FRAUD_PROJECT_DIR=str(ROOT))
    assert cli("data", "generate", "--rows", "15000", "--fraud-rate", "0.005").returncode == 0

    def prefect(*args: str, timeout: float = 180):
        result = cli.run([PREFECT, "--no-prompt", *args], cwd=ROOT, timeout=timeout)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    prefect("work-pool", "create", "fraud-training", "--type", "process", "--overwrite")
    prefect("deploy", "--all")
    prefect("deployment", "run", "training_pipeline/training-pipeline-on-demand")
    prefect("worker", "start", "--pool", "fraud-training", "--run-once", timeout=300)

    versions = json.loads(cli("model", "list", "--json").stdout)
    assert [v["aliases"] for v in versions] == [["champion"]]

    # The nightly run is a retrain, as on AWS: with no labelled capture it trains nothing (it trained and
    # registered a version a night on the same data).
    nightly = prefect("deployment", "inspect", "retrain/retrain-nightly").stdout
    assert "0 3 * * *" in nightly
    prefect("deployment", "run", "retrain/retrain-nightly")
    prefect("worker", "start", "--pool", "fraud-training", "--run-once", timeout=300)
    assert len(json.loads(cli("model", "list", "--json").stdout)) == 1

    hourly = prefect("deployment", "inspect", "drift_check/drift-check-hourly").stdout
    assert "17 * * * *" in hourly
    prefect("deployment", "run", "drift_check/drift-check-hourly")
    prefect("worker", "start", "--pool", "fraud-training", "--run-once", timeout=300)
    shown = cli("drift", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["status"] == "insufficient_data"  # nothing was scored yet: a report, no event
    assert report["reason"] == "insufficient data: no captured predictions in the window"

    daily = prefect("deployment", "inspect", "quality_measure/quality-daily").stdout
    assert "30 4 * * *" in daily
    prefect("deployment", "run", "quality_measure/quality-daily")
    prefect("worker", "start", "--pool", "fraud-training", "--run-once", timeout=300)
    assert (tmp_path / "store" / "quality" / "latest.json").exists()  # no labels yet: an empty report
