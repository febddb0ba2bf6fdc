"""FRAUD_HOME holds the feedback store (ids, decisions, labels), captured transactions, job records and the
embedded registry: it is created readable by its user alone, whichever command creates it first. With the
umask (022) it was readable by every local user."""

import stat

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import use_container
from fraud_detection.entrypoints.cli.app import app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command",
    [
        ["data", "generate", "--rows", "200"],
        ["clients", "add", "checkout", "--scope", "score"],
        ["model", "list"],
    ],
)
def test_a_new_fraud_home_is_private(tmp_path, monkeypatch, command):
    home = tmp_path / "a" / "home"
    monkeypatch.setenv("FRAUD_HOME", str(home))
    monkeypatch.delenv("FRAUD_API_CLIENTS_FILE", raising=False)
    use_container(None)  # built from this environment
    try:
        result = CliRunner().invoke(app, command)
    finally:
        use_container(None)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_fraud_mlflow_ui_creates_a_private_fraud_home_too(tmp_path, monkeypatch):
    """It read the settings without the container, and MLflow made the folder (and mlflow.db) 0755."""
    home = tmp_path / "ui-home"
    monkeypatch.setenv("FRAUD_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example")  # refused (exit 2) before it serves
    result = CliRunner().invoke(app, ["mlflow-ui"])
    assert result.exit_code == 2, result.output
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_an_existing_fraud_home_keeps_the_mode_its_owner_set(tmp_path, monkeypatch):
    home = tmp_path / "shared"
    home.mkdir(mode=0o750)
    home.chmod(0o750)
    monkeypatch.setenv("FRAUD_HOME", str(home))
    use_container(None)
    try:
        assert CliRunner().invoke(app, ["data", "generate", "--rows", "200"]).exit_code == 0
    finally:
        use_container(None)
    assert stat.S_IMODE(home.stat().st_mode) == 0o750
