"""`fraud rollout ...` in-process (typer's runner) over a real container on a temporary FRAUD_HOME: the
embedded MLflow registry holds the state, empty captures give empty evidence, refusals exit 2."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import lightgbm as lgb
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelMetadata
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.mlflow import MlflowExperimentTracker, MlflowModelRegistry
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded home for the module (creating MLflow's schema costs seconds); each test has its own
    model name."""
    return tmp_path_factory.mktemp("rollout-home")


@pytest.fixture
def registry(home: Path, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame):
    """Versions 1..3 of a fresh model name (one logged booster, registered three times: a rollout loads its
    challenger first), v1 champion, and the process's container on that home."""
    settings = Settings(home=home, model_name=f"fraud-{uuid.uuid4().hex[:8]}")
    built = Container(settings)
    built.rollout.store()  # creates the home and the embedded store
    uri = settings.resolved_tracking_uri
    client = MlflowClient(uri, uri)
    tracker = MlflowExperimentTracker(uri, settings.model_name, (home / "artifacts").as_uri())
    registry = MlflowModelRegistry(uri, settings.model_name)
    metadata = ModelMetadata(FEATURE_VERSION, 0.5, "d")  # a rollout refuses other feature versions
    with tracker.start_run("train", {}) as run:
        logged = run.log_model(LightGBMFraudModel(tiny_booster), metadata, feature_rows)
        for _ in range(3):
            registry.register(logged, run.run_id, metadata)
    client.set_registered_model_alias(settings.model_name, CHAMPION, "1")
    use_container(built)
    yield client, settings.model_name
    use_container(None)


def run(*args: str):
    return CliRunner().invoke(app, ["rollout", *args])


def aliases(client: MlflowClient, name: str) -> dict[str, str]:
    return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}


def test_no_rollout_yet_is_said_plainly(registry) -> None:
    for command in (["status"], ["evaluate"], ["advance"], ["abort"]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "no rollout yet; start one with `fraud rollout start VERSION`" in result.output


def test_a_scheduled_evaluation_without_a_rollout_is_a_quiet_no_op(registry) -> None:
    """`--if-active` is what the AWS schedule runs every 15 minutes: no rollout is not a failed task."""
    result = run("evaluate", "--if-active")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing to evaluate: no rollout yet")
    as_json = run("evaluate", "--if-active", "--json")  # before: the plain sentence, which no script parses
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert (document["rollout"], document["applied"]) == (None, False)
    assert document["detail"].startswith("nothing to evaluate: no rollout yet")


def test_abort_with_another_version_than_the_active_rollout_exits_2(registry) -> None:
    assert run("start", "2").exit_code == 0

    refused = run("abort", "--version", "3", "--reason", "requested for v3")
    applied = run("abort", "--version", "2", "--reason", "requested for v2", "--json")

    assert refused.exit_code == 2
    assert "the active rollout is of v2, not v3: nothing rolled back" in refused.output
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["stage"] == "rolled_back"
    # The schedule's evaluation after the abort: said to be nothing to do, as with no rollout at all (it
    # printed a whole decision, "holds: the rollout is over").
    scheduled = run("evaluate", "--if-active")
    assert scheduled.exit_code == 0, scheduled.output
    assert scheduled.output.strip() == "nothing to evaluate: the rollout of v2 is over (rolled_back)"


@pytest.mark.parametrize(
    ("version", "message"),
    [("9", "has no version 9"), ("1", "v1 is already the champion"), ("0", "greater than or equal to 1")],
)
def test_start_refuses_bad_versions_with_exit_2(registry, version: str, message: str) -> None:
    result = run("start", version)
    assert result.exit_code == 2
    assert message in result.output


def test_shadow_status_evaluate_advance_abort(registry) -> None:
    client, name = registry
    started = run("start", "2", "--shadow-only")
    assert started.exit_code == 0, started.output
    assert f"{name} v2: shadow since" in started.output
    assert aliases(client, name)[CHALLENGER] == "2"

    status = run("status", "--json")
    assert status.exit_code == 0, status.output
    decision = json.loads(status.output)
    assert decision["rollout"]["stage"] == "shadow"
    assert decision["verdict"]["action"] == "hold"
    assert decision["evidence"]["paired_rows"] == 0
    assert decision["applied"] is False

    evaluated = run("evaluate")
    assert evaluated.exit_code == 0, evaluated.output
    assert "verdict: hold (5 of 5 checks not yet met)" in evaluated.output  # ranking included
    assert "shadow_rows" in evaluated.output  # the checks table
    assert "model time p99 (served alone): challenger -, champion -" in evaluated.output  # nothing served
    assert "report: " in evaluated.output

    again = run("start", "3")
    assert again.exit_code == 2
    assert "a rollout of v2 is active (shadow)" in again.output

    advanced = run("advance")
    assert advanced.exit_code == 0, advanced.output
    assert "canary 10%" in advanced.output

    aborted = run("abort", "--reason", "alert storm", "--json")
    assert aborted.exit_code == 0, aborted.output
    state = json.loads(aborted.output)
    assert state["stage"] == "rolled_back"
    assert state["history"][-1]["reason"] == "alert storm"
    assert "(champion v1 kept, shadow only)" in run("status").output
    assert CHALLENGER not in aliases(client, name)
    assert aliases(client, name)[CHAMPION] == "1"

    over = run("abort")
    assert over.exit_code == 2
    assert "no active rollout: the last one, of v2, is over (rolled_back)" in over.output


def test_advancing_past_the_last_canary_step_makes_the_challenger_champion(registry) -> None:
    client, name = registry
    assert run("start", "3").exit_code == 0
    for _ in range(3):  # shadow -> 10% -> 50% -> champion
        result = run("advance", "--reason", "looks good")
        assert result.exit_code == 0, result.output
    assert f"{name} v3: champion since" in result.output
    assert "(replaced champion v1)" in result.output  # "(champion v1)" named the one it replaced
    assert aliases(client, name) == {CHAMPION: "3"}
    assert client.get_model_version(name, "3").tags["previous_champion"] == "1"
