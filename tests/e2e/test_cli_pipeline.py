"""The main job through the CLI: generate, run (champion), run again (challenger + gate), operate."""

import json

import pytest

from tests.e2e.conftest import make_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SMALL = ["--rows", "40000", "--fraud-rate", "0.005"]


def test_two_runs_give_a_champion_then_a_logged_gate_decision(cli):
    generated = cli("data", "generate", *SMALL)
    assert generated.returncode == 0, generated.stderr
    assert (cli.home / "data" / "creditcard.csv").exists()
    assert cli("data", "generate", "--if-absent").returncode == 0

    first = cli("pipeline", "run", "--summary-json", "first.json")
    assert first.returncode == 0, first.stderr
    summary = json.loads((cli.home / "first.json").read_text())
    assert summary["model"]["version"] == 1
    assert summary["promotion"]["promote"] is True
    assert summary["validation"]["success"] is True
    assert summary["test_metrics"]["auprc"] > 0.3
    assert list(summary["stage_seconds"]) == [
        "ingest", "validate", "features", "train", "evaluate", "register", "promote",
    ]  # fmt: skip
    for stage in ("ingest", "validate", "train", "promote"):
        assert f"✓ {stage}" in first.stderr  # progress was shown
    assert "PROMOTED" in first.stderr

    second = cli("pipeline", "run", "--summary-json", "second.json")
    assert second.returncode == 0, second.stderr
    decision = json.loads((cli.home / "second.json").read_text())["promotion"]
    assert decision["promote"] is False  # same data, same seed: a tie keeps the champion
    assert decision["reason"].startswith("champion kept: auprc")
    assert "KEPT CHAMPION" in second.stderr

    listing = cli("model", "list", "--json")
    assert listing.returncode == 0
    aliases = {v["version"]: v["aliases"] for v in json.loads(listing.stdout)}
    assert aliases == {2: ["challenger"], 1: ["champion"]}
    assert "champion" in cli("model", "list").stdout  # the table for people

    assert "champion is now fraud-lgbm v2" in cli("model", "promote", "2").stdout
    assert "champion is now fraud-lgbm v1" in cli("model", "rollback").stdout
    missing = cli("model", "promote", "9")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_embedded_defaults_need_no_server(tmp_path):
    """No PREFECT_API_URL, no MLflow server: Prefect's temporary server and SQLite, as on a fresh clone."""
    cli = make_cli(tmp_path)
    assert cli("data", "generate", *SMALL).returncode == 0
    result = cli("pipeline", "run", timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".fraud" / "mlflow.db").exists() is False  # FRAUD_HOME is tmp_path itself
    assert (tmp_path / "mlflow.db").exists()
    assert any((tmp_path / "store" / "raw").iterdir())
    assert "PROMOTED" in result.stderr


def test_validation_failure_stops_before_training(cli):
    # 8% frauds: the schema is fine, the fraud-rate band of the suite is not
    assert cli("data", "generate", "--rows", "20000", "--fraud-rate", "0.08").returncode == 0
    result = cli("pipeline", "run")
    assert result.returncode == 2
    assert "failed validation" in result.stderr
    assert "expect_column_mean_to_be_between[Class]" in result.stderr
    assert "Traceback" not in result.stderr
    assert "no model registered yet" in cli("model", "list").stderr
