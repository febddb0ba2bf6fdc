"""A bad setting stops `fraud` at start-up: exit 2, one line naming the variable, no stage started and nothing
registered (it used to run the whole pipeline, register a version, then fail in the gate with a traceback)."""

from pathlib import Path

import pytest

from tests.e2e.conftest import make_cli

pytestmark = pytest.mark.e2e

# variables -> the variable the line must name, and what it must say about it
BAD_SETTINGS = {
    "metric the gate cannot compare": (
        {"FRAUD_PROMOTION_METRIC": "f1"}, "FRAUD_PROMOTION_METRIC", "must be one of auprc",
    ),
    "fraud-rate band upside down": (
        {"FRAUD_VALIDATION_FRAUD_RATE_MIN": "0.1", "FRAUD_VALIDATION_FRAUD_RATE_MAX": "0.01"},
        "FRAUD_VALIDATION_FRAUD_RATE_MAX", "FRAUD_VALIDATION_FRAUD_RATE_MIN",
    ),
    "fold fraction of more than the data": (
        {"FRAUD_FIRST_FIT_FRACTION": "1.5"}, "FRAUD_FIRST_FIT_FRACTION", "less than 1",
    ),
    "more frauds than labels": (
        {"FRAUD_ROLLOUT_MIN_LABELS": "5", "FRAUD_ROLLOUT_MIN_FRAUDS": "10"},
        "FRAUD_ROLLOUT_MIN_FRAUDS", "FRAUD_ROLLOUT_MIN_LABELS",
    ),
    "canary steps falling": (
        {"FRAUD_ROLLOUT_CANARY_STEPS": "50,10"}, "FRAUD_ROLLOUT_CANARY_STEPS", "increasing",
    ),
    "store scheme": ({"FRAUD_STORAGE_URI": "gs://bucket/fraud"}, "FRAUD_STORAGE_URI", "s3://"),
    "negative seed": ({"FRAUD_SEED": "-3"}, "FRAUD_SEED", "greater than or equal to 0"),
    "tracking scheme": ({"MLFLOW_TRACKING_URI": "htp://mlflow:5000"}, "MLFLOW_TRACKING_URI", "htp"),
    "misspelt setting": (
        {"FRAUD_PROMOTION_METRC": "auprc"}, "FRAUD_PROMOTION_METRC", "did you mean FRAUD_PROMOTION_METRIC",
    ),
    "home the file system cannot name": (
        {"FRAUD_HOME": "/tmp/" + "h" * 300}, "FRAUD_HOME", "File name too long",
    ),
    "retired setting": ({"FRAUD_TRAIN_FRACTION": "0.9"}, "FRAUD_TRAIN_FRACTION", "FRAUD_FIRST_FIT_FRACTION"),
}  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a dataset, so that only the setting can stop the run."""
    home = tmp_path_factory.mktemp("bad-settings")
    generated = make_cli(home)("data", "generate", "--rows", "2000", "--fraud-rate", "0.01")
    assert generated.returncode == 0, generated.stderr
    return home


def assert_refused_at_start(result, variable: str, said: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no progress line, no stage started
    assert lines[0].startswith("error: invalid configuration: "), lines[0]
    assert f"{variable}: " in lines[0], lines[0]
    assert said in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_pipeline_run_refuses_a_bad_setting_before_any_stage(home, case):
    variables, variable, said = BAD_SETTINGS[case]
    result = make_cli(home, **variables)("pipeline", "run", timeout=120)
    assert_refused_at_start(result, variable, said)
    assert "starting the Prefect flow" not in result.stderr
    assert not (home / "mlflow.db").exists()  # no run tracked, no version registered
    assert not (home / "store").exists()  # nothing ingested


@pytest.mark.parametrize(
    "command",
    [["model", "list"], ["data", "list"], ["drift", "show"], ["clients", "list"], ["rollout", "status"],
     ["batch", "status", "job-1"], ["data", "generate", "--rows", "2000", "--force"], ["config"]],
    ids=lambda command: " ".join(command[:2]),
)  # fmt: skip
def test_every_command_checks_the_settings_first(home, command):
    """Even a command that does not use the bad setting: the configuration is wrong for the whole system."""
    result = make_cli(home, FRAUD_PROMOTION_METRIC="f1")(*command, timeout=120)
    assert_refused_at_start(result, "FRAUD_PROMOTION_METRIC", "must be one of")


def test_other_tools_fraud_variables_are_left_alone(home):
    """The prefix is shared (`FRAUD_IMAGE_TAG` in CI, `FRAUD_REAL_SAMPLE` in the tests): only near misses of a
    setting are refused."""
    result = make_cli(home, FRAUD_IMAGE_TAG="sha-1", FRAUD_REAL_SAMPLE="x.csv.gz")(
        "data", "list", timeout=120
    )
    assert result.returncode == 0, result.stderr
