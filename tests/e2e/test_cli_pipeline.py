"""The main job through the CLI: generate, run (champion), run again (challenger + gate), operate.

The two pipeline runs are the session's `trained_home` (tests/e2e/conftest.py): the CLI ran them there, with
`--summary-json`, and kept their stderr; this test reads what they printed and wrote instead of training twice
more. Commands that change the registry run on a copy. (A tie between identical models keeping the champion
is tested on the policy, tests/unit/test_promotion_policy.py, and training being deterministic on the
adapter, tests/integration/test_lightgbm_adapter.py.)
"""

import json

import pytest
from mlflow import MlflowClient

from tests.e2e.conftest import make_cli
from tests.e2e.serving import copy_home

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SMALL = ["--rows", "40000", "--fraud-rate", "0.005"]
STAGES = ["ingest", "validate", "features", "train", "evaluate", "register", "promote"]


def test_two_runs_give_a_champion_then_a_logged_gate_decision(trained_home, tmp_path):
    runs = trained_home / "runs"
    summary = json.loads((runs / "1.json").read_text())
    assert summary["status"] == "succeeded"
    stderr = (runs / "1.stderr").read_text()
    assert summary["model"]["version"] == 1
    assert summary["promotion"]["promote"] is True
    assert summary["validation"]["success"] is True
    assert summary["out_of_time_metrics"]["auprc"] > 0.3
    assert summary["folds"]["folds"] == 3
    training = summary["training"]
    assert training["refit_rows"] == summary["dataset"]["rows"]  # the registered model saw every row
    assert training["refit_rounds"] > training["rounds"]
    assert list(summary["stage_seconds"]) == STAGES
    for stage in ("ingest", "validate", "train", "promote"):
        assert f"✓ {stage}" in stderr  # progress was shown
    assert "PROMOTED" in stderr
    assert f"mlflow run: {summary['mlflow_run']['location']}" in stderr.splitlines()  # piped: whole lines

    second = json.loads((runs / "2.json").read_text())
    decision = second["promotion"]
    assert second["model"]["version"] == 2
    assert decision["promote"] is False  # the same data: no row is new to v1, nothing fair to compare on
    assert decision["rows"] == 0
    assert "nothing to compare on" in decision["reason"]
    assert "KEPT CHAMPION" in (runs / "2.stderr").read_text()

    cli = copy_home(trained_home, tmp_path / "home")
    # what a test logs on the copy lands in the copy: the shared home is never changed
    registry = MlflowClient(f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}")
    copied = registry.get_experiment_by_name("fraud-detection")
    assert copied is not None
    assert copied.artifact_location == (tmp_path / "home" / "mlartifacts").resolve().as_uri()
    listing = cli("model", "list", "--json")
    assert listing.returncode == 0
    aliases = {v["version"]: v["aliases"] for v in json.loads(listing.stdout)}
    assert aliases == {2: ["challenger"], 1: ["champion"]}
    assert "champion" in cli("model", "list").stdout  # the table for people

    assert "champion is now fraud-lgbm v2" in cli("model", "promote", "2").stdout
    assert "champion is now fraud-lgbm v1" in cli("model", "rollback").stdout
    for version in ("2", "1"):  # v1 champion a second time: rollbacks undo both promotions, then stop
        assert cli("model", "promote", version).returncode == 0
    assert "champion is now fraud-lgbm v2" in cli("model", "rollback").stdout
    assert "champion is now fraud-lgbm v1" in cli("model", "rollback").stdout
    again = cli("model", "promote", "1")  # it said "champion is now", as if it had moved
    assert again.returncode == 0
    assert "fraud-lgbm v1 is already the champion; nothing moved" in again.stdout
    first = cli("model", "rollback")
    assert first.returncode == 2
    assert "no previous champion" in first.stderr
    missing = cli("model", "promote", "9")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_embedded_defaults_need_no_server(tmp_path):
    """No PREFECT_API_URL, no MLflow server: Prefect's temporary server and SQLite, as on a fresh clone."""
    cli = make_cli(tmp_path)
    assert cli("data", "generate", *SMALL).returncode == 0
    generated = tmp_path / "data" / "creditcard.csv"
    written = generated.stat().st_mtime_ns
    assert cli("data", "generate", "--if-absent").returncode == 0
    assert generated.stat().st_mtime_ns == written  # present: left alone
    result = cli("pipeline", "run", timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".fraud" / "mlflow.db").exists() is False  # FRAUD_HOME is tmp_path itself
    assert (tmp_path / "mlflow.db").exists()
    assert any((tmp_path / "store" / "raw").iterdir())
    assert "PROMOTED" in result.stderr


def test_validation_failure_stops_before_training(cli):
    # 8% frauds: the schema is fine, the fraud-rate band of the suite is not
    assert cli("data", "generate", "--rows", "20000", "--fraud-rate", "0.08").returncode == 0
    result = cli("pipeline", "run", "--summary-json", "failed.json")
    assert result.returncode == 2
    assert "failed validation" in result.stderr
    assert "expect_column_mean_to_be_between[Class]" in result.stderr
    assert "✗ validate" in result.stderr
    assert "Error" not in result.stderr.split("✗ validate", 1)[1].splitlines()[0]  # no class name
    assert "Traceback" not in result.stderr
    assert "no model registered yet" in cli("model", "list").stderr
    failure = json.loads((cli.home / "failed.json").read_text())  # what a script reads instead of stderr
    assert (failure["status"], failure["failed_stage"]) == ("failed", "validate")
    assert "expect_column_mean_to_be_between[Class]" in failure["error"]
    assert list(failure["stage_seconds"]) == ["ingest"]
    # A summary under a file is refused before the run (it was found only after training and registering).
    (cli.home / "a-file").write_text("not a folder")
    refused = cli("pipeline", "run", "--summary-json", "a-file/failed.json")
    assert (refused.returncode, "a-file is a file, not a folder" in refused.stderr) == (2, True)
    assert "validate" not in refused.stderr
    # A summary that passes those checks but cannot be written (a disk-full probe; nobody creates files in
    # /proc): the run's own error stays the one reported.
    unwritable = cli("pipeline", "run", "--summary-json", "/proc/1/failed.json")
    assert unwritable.returncode == 2
    assert "failed validation" in unwritable.stderr
    assert "warning: --summary-json was not written" in unwritable.stderr


def test_a_running_rollout_keeps_the_champion_against_promotions_from_elsewhere(
    trained_home, tmp_path, prefect_api_url
):
    """A rollout of v2 against v1: neither a forced pipeline run nor `fraud model promote` moves the champion
    under it (its evidence is paired on v1), nor does a registration take the `challenger` alias off v2.
    Before, both promoted v3 at once and the rollout held forever, comparing v2 with a champion that no longer
    served."""
    copy_home(trained_home, tmp_path / "home")
    cli = make_cli(tmp_path / "home", PREFECT_API_URL=prefect_api_url)
    assert cli("rollout", "start", "2").returncode == 0

    summary_file = tmp_path / "3.json"
    forced = cli("pipeline", "run", "--force-promotion", "--summary-json", str(summary_file), timeout=600)
    promote = cli("model", "promote", "3")

    assert forced.returncode == 0, forced.stderr
    decision = json.loads(summary_file.read_text())["promotion"]
    assert (decision["promote"], decision["forced"]) == (False, True)
    held = "a rollout of v2 against champion v1 is active (shadow), and the champion moves only through it"
    assert f"not promoted: {held}" in decision["reason"]
    assert "(@challenger stays on v2, in rollout)" in forced.stderr
    assert promote.returncode == 2
    assert f"promoting v3 refused: {held}; end it first with `fraud rollout abort`" in promote.stderr
    assert "Traceback" not in promote.stderr
    retrain = cli("retrain", "--reason", "drift", timeout=600)  # what an hourly DriftDetected starts
    assert retrain.returncode == 0, retrain.stderr
    assert f"retraining set: nothing to retrain now: {held}" in retrain.stderr
    listing = json.loads(cli("model", "list", "--json").stdout)
    assert {v["version"]: v["aliases"] for v in listing} == {3: [], 2: ["challenger"], 1: ["champion"]}

    assert cli("rollout", "abort", "--reason", "v3 instead").returncode == 0
    assert "champion is now fraud-lgbm v3" in cli("model", "promote", "3").stdout
