"""Every setting is checked when the process starts: a bad value is refused, naming its environment variable
(one line, as the CLI prints it), instead of failing a stage minutes into a run."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest
from pydantic import ValidationError

from fraud_detection.domain.metrics import ClassificationMetrics
from fraud_detection.domain.promotion import GATE_METRICS, PromotionPolicy
from fraud_detection.settings import Settings
from fraud_detection.settings.problems import configuration_problems
from tests.fixtures.certificates import certificate_authority


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Only what each test sets: the developer's own FRAUD_* variables must not decide a test."""
    for name in list(os.environ):
        if name.startswith(("FRAUD_", "MLFLOW_TRACKING", "AWS_REGION", "AWS_DEFAULT_REGION")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path / "home"))


def refusal(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    """The one line a process prints for these variables (it must refuse them)."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    return configuration_problems(refused.value.errors())


# (variables, text the line must hold besides the variable's name)
BAD = {
    "metric not computed by the gate": ({"FRAUD_PROMOTION_METRIC": "f1"}, "must be one of auprc, roc_auc"),
    "lower-is-better metric": ({"FRAUD_PROMOTION_METRIC": "cost"}, "must be one of"),
    "margin of a whole metric": ({"FRAUD_PROMOTION_MARGIN": "1"}, "less than 1"),
    "promotion mode": ({"FRAUD_PROMOTION_MODE": "yolo"}, "'direct' or 'staged'"),
    "negative seed": ({"FRAUD_SEED": "-1"}, "greater than or equal to 0"),
    "seed beyond a C int": ({"FRAUD_SEED": str(2**31)}, "less than or equal to"),
    "first-fit fraction of 1": ({"FRAUD_FIRST_FIT_FRACTION": "1"}, "less than 1"),
    "no folds": ({"FRAUD_TRAIN_FOLDS": "0"}, "greater than or equal to 1"),
    "batch root of another scheme": (
        {"FRAUD_BATCH_INPUT_ROOTS": "/data/in, gs://bkt/x"},
        "'gs://bkt/x' is neither a folder nor s3://bucket/prefix",
    ),
    "nan slips past bounds": ({"FRAUD_REVIEW_COST": "nan"}, "finite"),
    "infinite window": ({"FRAUD_DRIFT_WINDOW_HOURS": "inf"}, "finite"),
    "lookback before year 1": ({"FRAUD_RETRAIN_LOOKBACK_DAYS": "1e9"}, "less than 36500"),
    # Durations that passed `fraud config` and failed later: Redis refused the EXPIRE (ids lost, a label
    # half-written), the daily sweep's cutoff fell before year 1, timedelta or a thread's wait overflowed.
    "feedback kept beyond Redis's expiry": ({"FRAUD_FEEDBACK_RETENTION_DAYS": "1e12"}, "less than 36500"),
    "capture kept from before year 1": ({"FRAUD_CAPTURE_RETENTION_DAYS": "800000"}, "less than 36500"),
    "quality window before year 1": ({"FRAUD_QUALITY_WINDOW_DAYS": "40000"}, "less than 36500"),
    "abandoned-run age overflowing": ({"FRAUD_MLFLOW_ABANDONED_RUN_HOURS": "1e308"}, "less than 876000"),
    "sweeper wait overflowing": ({"FRAUD_BATCH_SWEEP_SECONDS": "99999999999"}, "or equal to 604800"),
    "clients refresh wait overflowing": ({"FRAUD_API_CLIENTS_REFRESH_SECONDS": "1e10"}, "or equal to 604800"),
    "model poll wait overflowing": ({"FRAUD_MODEL_POLL_SECONDS": "1e10"}, "or equal to 604800"),
    "rollout poll wait overflowing": ({"FRAUD_ROLLOUT_POLL_SECONDS": "1e10"}, "or equal to 604800"),
    "namespace folders of nested roots": (  # namespace `out` of /srv/data would get every tenant's outputs
        {
            "FRAUD_BATCH_INPUT_ROOTS": "/srv/data",
            "FRAUD_BATCH_OUTPUT_ROOTS": "/srv/data/out",
            "FRAUD_BATCH_NAMESPACE_FOLDERS": "true",
        },
        "root '/srv/data/out' lies inside root '/srv/data'",
    ),
    # Start accepted these, and a job's error then quoted the clients file's lines as bad column names.
    "batch root holding the clients file": (
        {"FRAUD_API_CLIENTS_FILE": "/srv/px/clients.json", "FRAUD_BATCH_INPUT_ROOTS": "/srv/px"},
        "overlaps the system's own state (FRAUD_API_CLIENTS_FILE: /srv/px/clients.json)",
    ),
    "batch root holding the training file": (
        {"FRAUD_DATASET_PATH": "/srv/px/train.csv", "FRAUD_BATCH_INPUT_ROOTS": "/srv/px"},
        "overlaps the system's own state (FRAUD_DATASET_PATH: /srv/px/train.csv)",
    ),
    "batch root in the home's data folder": (
        {"FRAUD_HOME": "/srv/h", "FRAUD_BATCH_OUTPUT_ROOTS": "/srv/h/data"},
        "overlaps the system's own state (data: /srv/h/data)",
    ),
    "fraud-rate band upside down": (
        {"FRAUD_VALIDATION_FRAUD_RATE_MIN": "0.1", "FRAUD_VALIDATION_FRAUD_RATE_MAX": "0.05"},
        "must be greater than FRAUD_VALIDATION_FRAUD_RATE_MIN (0.1)",
    ),
    "fraud-rate band empty": (
        {"FRAUD_VALIDATION_FRAUD_RATE_MIN": "0.05", "FRAUD_VALIDATION_FRAUD_RATE_MAX": "0.05"},
        "FRAUD_VALIDATION_FRAUD_RATE_MIN",
    ),
    "more rows than any dataset may have": ({"FRAUD_VALIDATION_MIN_ROWS": "60000000"}, "less than"),
    "more frauds than labels": (
        {"FRAUD_ROLLOUT_MIN_LABELS": "10", "FRAUD_ROLLOUT_MIN_FRAUDS": "20"},
        "must not exceed FRAUD_ROLLOUT_MIN_LABELS (10)",
    ),
    "canary steps falling": ({"FRAUD_ROLLOUT_CANARY_STEPS": "50,10"}, "increasing"),
    "canary step not a number": ({"FRAUD_ROLLOUT_CANARY_STEPS": "10,half"}, "'half' is not a share"),
    "canary steps by spaces": ({"FRAUD_ROLLOUT_CANARY_STEPS": "10 50"}, "separated by commas, such as 10,50"),
    "canary step missing": ({"FRAUD_ROLLOUT_CANARY_STEPS": "10,,50"}, "'' is not a share in percent"),
    "tolerance beyond a rate": ({"FRAUD_ROLLOUT_PRECISION_TOLERANCE": "5"}, "less than or equal to 1"),
    "drift tolerance beyond a rate": ({"FRAUD_DRIFT_RECALL_TOLERANCE": "2"}, "less than or equal to 1"),
    "storage scheme": ({"FRAUD_STORAGE_URI": "gs://bucket/prefix"}, "s3://"),
    "storage bucket missing": ({"FRAUD_STORAGE_URI": "s3:///prefix"}, "s3://bucket"),
    "dataset path as a URL": ({"FRAUD_DATASET_PATH": "s3://bucket/raw.csv"}, "must be a local path"),
    "home as a URL": ({"FRAUD_HOME": "s3://bucket/home"}, "must be a local path"),
    "clients file as a URL": ({"FRAUD_API_CLIENTS_FILE": "s3://bucket/c.json"}, "must be a local path"),
    "spill folder as a URL": ({"FRAUD_CAPTURE_SPILL_DIR": "gs://bucket/spill"}, "must be a local path"),
    "storage URL with a slash lost": ({"FRAUD_STORAGE_URI": "s3:/bucket/prefix"}, "s3://"),
    "endpoint without scheme": ({"FRAUD_S3_ENDPOINT_URL": "localhost:8333"}, "http://"),
    "endpoint port": ({"FRAUD_S3_ENDPOINT_URL": "http://localhost:port"}, "not a valid URL"),
    "broker scheme": ({"FRAUD_BROKER_URL": "localhost:6379"}, "redis://"),
    "result backend scheme": ({"FRAUD_RESULT_BACKEND": "mongodb://x"}, "redis://"),
    "feedback scheme": ({"FRAUD_FEEDBACK_URL": "postgres://x"}, "redis://"),
    "tracking scheme": ({"MLFLOW_TRACKING_URI": "mlfow://host"}, "MLflow understands"),
    "tracking file store": ({"MLFLOW_TRACKING_URI": "/srv/mlruns"}, "is MLflow's file store"),
    "tracking file URI": ({"MLFLOW_TRACKING_URI": "file:///srv/mlruns"}, "is MLflow's file store"),
    "feedback port": ({"FRAUD_FEEDBACK_URL": "redis://h:abc"}, "not a valid URL"),
    "feedback IPv6 host": ({"FRAUD_FEEDBACK_URL": "redis://[::1"}, "not a valid URL"),
    "feedback host missing": ({"FRAUD_FEEDBACK_URL": "redis://"}, "names no host"),
    "feedback socket missing": ({"FRAUD_FEEDBACK_URL": "unix://"}, "names no socket path"),
    "broker socket missing": ({"FRAUD_BROKER_URL": "redis+socket://"}, "names no socket path"),
    "broker in memory": ({"FRAUD_BROKER_URL": "memory://"}, "no `fraud worker` could ever see its jobs"),
    "tracking in memory": ({"MLFLOW_TRACKING_URI": "sqlite://"}, "in-memory database"),
    "tracking in memory, named": ({"MLFLOW_TRACKING_URI": "sqlite:///:memory:"}, "in-memory database"),
    "tracking driver missing": ({"MLFLOW_TRACKING_URI": "mysql://u:p@db/mlflow"}, "'MySQLdb'"),
    "tracking default driver": (  # SQLAlchemy 2.1 reads postgresql:// as psycopg 3, not installed
        {"MLFLOW_TRACKING_URI": "postgresql://u:p@db/mlflow"},
        "postgresql+psycopg2://",
    ),
    "tracking driver unknown": ({"MLFLOW_TRACKING_URI": "postgresql+nosuch://db/x"}, "SQLAlchemy"),
    "tracking on Databricks": ({"MLFLOW_TRACKING_URI": "databricks"}, "not supported"),
    "storage file URL without a folder": ({"FRAUD_STORAGE_URI": "file://"}, "names no folder"),
    "storage of an unknown user": ({"FRAUD_STORAGE_URI": "~nobody-here/store"}, "does not know"),
    "home of an unknown user": ({"FRAUD_HOME": "~nobody-here/x"}, "'~nobody-here', a user"),
    "dataset of an unknown user": ({"FRAUD_DATASET_PATH": "~nobody-here/x.csv"}, "does not know"),
    "journal wait overflowing": ({"FRAUD_CAPTURE_JOURNAL_SECONDS": "1e10"}, "or equal to 604800"),
    "threads past OpenMP's reach": ({"FRAUD_TRAIN_THREADS": "99999999999"}, "or equal to 1024"),
    "model name": ({"FRAUD_MODEL_NAME": "fraud lgbm/v2"}, "should match pattern"),
    "blank experiment": ({"FRAUD_MLFLOW_EXPERIMENT": "   "}, "should match pattern"),
    "blank admin token": ({"FRAUD_ADMIN_TOKEN": " " * 40}, "only whitespace"),
    "blank cache key": ({"FRAUD_CACHE_KEY": " " * 40}, "only whitespace"),
    "region": ({"FRAUD_AWS_REGION": "EU West 1"}, "should match pattern"),
    "port": ({"FRAUD_WORKER_METRICS_PORT": "70000"}, "less than or equal to 65535"),
    "not a number": ({"FRAUD_TOP_K": "many"}, "valid integer"),
    "short admin token": ({"FRAUD_ADMIN_TOKEN": "x" * 31}, "at least 32 characters"),
    "short admin token once its newline is dropped": ({"FRAUD_ADMIN_TOKEN": "x" * 31 + "\n"}, "at least 32"),
    "admin token of two words": ({"FRAUD_ADMIN_TOKEN": "x" * 20 + " " + "y" * 20}, "blank inside"),
    # The MLflow server's CA: a bundle the client cannot load would fail every MLflow request, later.
    "CA bundle of no certificate": (
        {"FRAUD_MLFLOW_CA_BUNDLE": "MIIBIjANBgkqhkiG9w0B"},
        "holds no -----BEGIN",
    ),
    "CA bundle of a path": ({"FRAUD_MLFLOW_CA_BUNDLE": "/etc/ssl/mlflow-ca.pem"}, "holds no -----BEGIN"),
    "CA bundle that does not parse": (
        {"FRAUD_MLFLOW_CA_BUNDLE": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"},
        "holds a certificate that does not parse",
    ),
    "CA bundle with a private key": (
        {"FRAUD_MLFLOW_CA_BUNDLE": "-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n"},
        "holds a private key",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_setting_is_refused_in_one_line_naming_its_variable(monkeypatch, case):
    variables, expected = BAD[case]
    line = refusal(monkeypatch, **variables)
    assert line.startswith("invalid configuration: ")
    assert "\n" not in line
    assert f"{list(variables)[-1]}: " in line  # the variable the rule is reported on
    assert expected in line
    assert "Value error," not in line  # pydantic's wording, not the user's concern


def test_home_that_is_a_file_is_refused(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    line = refusal(monkeypatch, FRAUD_HOME=str(tmp_path / "file"))
    assert "FRAUD_HOME: " in line
    assert "is a file" in line


@pytest.mark.parametrize(
    ("name", "made", "expected"),
    [
        ("FRAUD_STORAGE_URI", "file", "is a file, not a folder"),
        ("FRAUD_CAPTURE_SPILL_DIR", "file", "is a file, not a folder"),
        ("FRAUD_API_CLIENTS_FILE", "folder", "is a folder, not a file"),  # was "chmod 600" advice
        ("FRAUD_DATASET_PATH", "folder", "is a folder, not a file"),  # the run's ingest named no variable
        ("FRAUD_BATCH_OUTPUT_ROOTS", "file", "is a file, not a folder"),  # every job failed, "not under" it
    ],
)
def test_a_file_for_a_folder_and_back_are_refused(monkeypatch, tmp_path, name, made, expected):
    target = tmp_path / made
    target.mkdir() if made == "folder" else target.write_text("")
    line = refusal(monkeypatch, **{name: str(target)})
    assert f"{name}: {target} {expected}" in line


@pytest.mark.parametrize(
    "name",
    [
        "FRAUD_HOME",
        "FRAUD_STORAGE_URI",
        "FRAUD_CAPTURE_SPILL_DIR",
        "FRAUD_API_CLIENTS_FILE",
        "FRAUD_DATASET_PATH",
    ],
)
def test_a_path_under_a_file_is_refused_naming_the_file(monkeypatch, tmp_path, name):
    """`FRAUD_HOME=<a file>/home` passed: `fraud model list` said "no model registered yet" there, and the
    first write failed with "Not a directory", naming no variable."""
    (tmp_path / "notes.txt").write_text("")
    line = refusal(monkeypatch, **{name: str(tmp_path / "notes.txt" / "inside" / "x.json")})
    assert f"{name}: {tmp_path / 'notes.txt'} is a file, not a folder" in line


@pytest.mark.parametrize(
    ("name", "value"), [("AWS_REGION", "EU_WEST"), ("FRAUD_MLFLOW_TRACKING_URI", "ftp://x")]
)
def test_an_alias_is_named_as_set_not_as_first_listed(monkeypatch, name, value):
    """`AWS_REGION=EU_WEST` was reported as FRAUD_AWS_REGION, a variable nobody had set."""
    assert f"invalid configuration: {name}: " in refusal(monkeypatch, **{name: value})


def test_home_the_file_system_cannot_name_is_refused(monkeypatch, tmp_path):
    """A component longer than the file system allows (255 bytes): the check itself used to raise OSError."""
    line = refusal(monkeypatch, FRAUD_HOME=str(tmp_path / ("a" * 300)))
    assert "FRAUD_HOME: cannot be used as a folder: File name too long" in line


def test_several_bad_settings_are_named_together(monkeypatch):
    line = refusal(monkeypatch, FRAUD_TOP_K="0", FRAUD_PROMOTION_METRIC="f1")
    assert "FRAUD_TOP_K: " in line
    assert "FRAUD_PROMOTION_METRIC: " in line


def test_an_alias_names_the_variable_as_set(monkeypatch):
    assert "MLFLOW_TRACKING_URI: " in refusal(monkeypatch, MLFLOW_TRACKING_URI="ftp://x")


def test_defaults_are_valid():
    settings = Settings()
    assert settings.promotion_metric == "auprc"
    settings.rollout_policy  # noqa: B018 - builds the domain policy from the settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FRAUD_STORAGE_URI", "s3://bucket/prefix"),
        ("FRAUD_STORAGE_URI", "s3://bucket"),
        ("FRAUD_STORAGE_URI", "file:///tmp/store"),
        ("FRAUD_STORAGE_URI", "/tmp/store"),
        ("FRAUD_S3_ENDPOINT_URL", "http://127.0.0.1:8333"),
        ("FRAUD_BROKER_URL", "redis://:secret@redis:6379/0"),
        ("MLFLOW_TRACKING_URI", "http://mlflow:5000"),
        ("MLFLOW_TRACKING_URI", "postgresql+psycopg2://u:p@db/mlflow"),
        ("FRAUD_FEEDBACK_URL", "unix:///run/redis/redis.sock"),
        ("FRAUD_FEEDBACK_URL", "rediss://:pw@cache.internal:6380/2"),
        ("FRAUD_BROKER_URL", "redis+socket:///run/redis/redis.sock"),
        ("MLFLOW_TRACKING_URI", "sqlite:////srv/mlflow.db"),
        ("FRAUD_AWS_REGION", "us-east-1"),
        ("FRAUD_PROMOTION_METRIC", "recall"),
        ("FRAUD_VALIDATION_FRAUD_RATE_MIN", "0"),
    ],
)
def test_good_values_are_accepted(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    Settings()


@pytest.mark.parametrize("value", [",", " , ", " "])
def test_roots_of_commas_and_spaces_mean_the_defaults(monkeypatch, tmp_path, value):
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    monkeypatch.setenv("FRAUD_BATCH_INPUT_ROOTS", value)
    settings = Settings()
    assert settings.batch_input_roots is None
    assert settings.batch_roots.inputs == (str(tmp_path.resolve() / "batch" / "in"),)


@pytest.mark.parametrize(
    "name",
    ["FRAUD_STORAGE_URI", "FRAUD_S3_ENDPOINT_URL", "FRAUD_BROKER_URL", "FRAUD_RESULT_BACKEND",
     "FRAUD_EVENT_BUS", "MLFLOW_TRACKING_URI", "FRAUD_API_CLIENTS_SECRET", "FRAUD_FEEDBACK_URL",
     "FRAUD_DATASET_PATH", "FRAUD_API_CLIENTS_FILE", "FRAUD_CAPTURE_SPILL_DIR", "FRAUD_MLFLOW_CA_BUNDLE"],
)  # fmt: skip
def test_empty_means_unset(monkeypatch, name):
    """As a compose or .env file writes an unset value (`FRAUD_BROKER_URL=`)."""
    monkeypatch.setenv(name, "")
    field = name.removeprefix("FRAUD_").lower()
    assert getattr(Settings(), field) is None


def test_a_ca_bundle_of_pem_certificates_is_accepted_and_one_broken_block_refused(monkeypatch, tmp_path):
    """What ECS injects from fraud/<env>/mlflow-ca: one CA or several, text around them allowed; a second
    block cut short is refused, not silently dropped."""
    authority, _key = certificate_authority(tmp_path, "mlflow-ca")
    other, _other_key = certificate_authority(tmp_path, "other-ca")
    pem, second = authority.read_text(), other.read_text()
    for bundle in (pem, pem + second, f"# MLflow CA\n{pem}"):
        monkeypatch.setenv("FRAUD_MLFLOW_CA_BUNDLE", bundle)
        assert Settings().mlflow_ca_bundle == bundle

    lines = second.splitlines()
    cut = "\n".join([*lines[:3], *lines[-1:]])
    line = refusal(monkeypatch, FRAUD_MLFLOW_CA_BUNDLE=f"{pem}{cut}\n")
    assert "FRAUD_MLFLOW_CA_BUNDLE: holds a certificate that does not parse" in line
    assert "\n" not in line
    assert "_ssl.c" not in line


def test_an_empty_variable_lets_the_next_alias_or_the_default_decide(monkeypatch):
    """Before, `MLFLOW_TRACKING_URI=` hid FRAUD_MLFLOW_TRACKING_URI (models went to the embedded SQLite
    registry), `AWS_REGION=` was refused naming FRAUD_AWS_REGION, and an empty experiment was refused."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    monkeypatch.setenv("FRAUD_MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    monkeypatch.setenv("AWS_REGION", "")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    monkeypatch.setenv("FRAUD_MLFLOW_EXPERIMENT", "")
    settings = Settings()
    assert settings.mlflow_tracking_uri == "http://mlflow.internal:5000"
    assert settings.aws_region == "us-east-2"
    assert settings.mlflow_experiment == "fraud-detection"


def test_a_home_given_with_a_tilde_is_under_the_users_home(monkeypatch, tmp_path):
    """An env file leaves `~` unexpanded: the home was a folder named `~` under the current one, while the
    batch roots' overlap check, which expanded it, guarded another."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FRAUD_HOME", "~/fraud-home")
    monkeypatch.setenv("FRAUD_DATASET_PATH", "~/data/creditcard.csv")
    settings = Settings()
    assert settings.home == tmp_path / "fraud-home"
    assert settings.resolved_dataset_path == tmp_path / "data" / "creditcard.csv"


def test_an_empty_home_is_the_default_home_not_the_current_folder(monkeypatch):
    monkeypatch.setenv("FRAUD_HOME", " ")
    assert Settings().home == Path(".fraud")


def test_every_gate_metric_is_one_the_evaluation_computes():
    """The gate's metric list lives in one place (domain/promotion.py); it must name real metrics."""
    computed = {f.name for f in fields(ClassificationMetrics)}
    assert set(GATE_METRICS) <= computed
    assert "cost" not in GATE_METRICS  # lower is better: the gate's comparison would be backwards
    for metric in GATE_METRICS:
        Settings(promotion_metric=metric)
        PromotionPolicy(metric)


def test_the_policy_refuses_what_the_setting_refuses():
    with pytest.raises(ValueError, match="one of"):
        PromotionPolicy("f1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="margin"):
        PromotionPolicy("auprc", 1.0)


def test_no_mixin_hides_another_ones_validator():
    """Validators are looked up by name through the bases: two mixins with a `_same_name` validator would
    silently drop one of them (it happened with `_empty_is_unset`)."""
    from fraud_detection.settings import batch, monitoring, rollout, serving, stores, training

    mixins = [stores.StoreSettings, training.TrainingSettings, serving.ServingSettings, batch.BatchSettings,
              monitoring.MonitoringSettings, rollout.RolloutSettings]  # fmt: skip
    declared = [name for mixin in mixins for name in mixin.__pydantic_decorators__.field_validators]
    assert len(declared) == len(set(declared))
    assert set(declared) <= set(Settings.__pydantic_decorators__.field_validators)


def test_reading_the_settings_imports_no_numpy_or_pandas():
    """Every command reads them first: numpy and pandas (~0.4 s) are for the commands that compute."""
    import subprocess
    import sys

    code = "import sys, fraud_detection.settings; print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "FRAUD_DRIFT_WINDOW_HOUR",
            "3",
            "FRAUD_DRIFT_WINDOW_HOUR: not a setting (did you mean FRAUD_DRIFT_WINDOW_HOURS?)",
        ),
        (
            "FRAUD_DRIFT_MIN_ROWS",
            "abc",
            "FRAUD_DRIFT_MIN_ROWS: Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_every_entry_points_settings_refuse_what_the_cli_refuses(monkeypatch, tmp_path, name, value, line):
    """The composition root (the Prefect flows, the Lambda, the API's workers): a misspelt name ran with the
    default, a malformed value raised pydantic's own multi-line message."""
    from fraud_detection.composition.root import environment_settings
    from fraud_detection.domain.errors import ConfigurationError

    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        environment_settings()
    assert str(refused.value) == f"invalid configuration: {line}"
