"""Passwords inside URLs are never shown: `fraud config`, start-up errors, MLflow store messages."""

import pytest
from pydantic import ValidationError

from fraud_detection.domain.redaction import masked_url
from fraud_detection.entrypoints.cli.config import shown
from fraud_detection.infrastructure.mlflow.connection import display_uri
from fraud_detection.settings import Settings
from fraud_detection.settings.problems import configuration_problems

MASKED = [
    ("redis://:hunter2@127.0.0.1:6379/0", "redis://:**@127.0.0.1:6379/0"),
    ("https://alice:s3cr3t@mlflow.example/path", "https://alice:**@mlflow.example/path"),
    ("postgresql://u:p%40ss@db:5432/x", "postgresql://u:**@db:5432/x"),
    ("redis://h:notaport@host:abc/0", "redis://h:**@host:abc/0"),
    ("https://mlflow.example", "https://mlflow.example"),
    ("s3://bucket/prefix", "s3://bucket/prefix"),
    # Unencoded `/`, `#` or `?` in a password ended urlsplit's netloc: the rest read as a port or path.
    ("redis://:12/ab@h:6379/0", "redis://:**@h:6379/0"),
    ("postgresql://u:99#x@h/db", "postgresql://u:**@h/db"),
    ("https://u:1?x@h", "https://u:**@h"),
    ("redis://:p@ss@h", "redis://:**@h"),
    ("s3://bucket/a@b", "s3://bucket/a@b"),
    # Passwords as query parameters (redis-py, libpq accept them) were shown whole.
    ("redis://redis.internal:6379/0?password=Sup3rSecret", "redis://redis.internal:6379/0?password=**"),
    (
        "postgresql://db/mlflow?user=m&password=Sup3r&sslmode=require",
        "postgresql://db/mlflow?user=m&password=**&sslmode=require",
    ),
    ("redis:/:Sup3rSecret@redis.internal:6379/0", "redis:/:**@redis.internal:6379/0"),  # a mistyped scheme
    ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db"),
    # Shown whole: a blank before the scheme (as settings files leave), a scheme missing its colon, a token
    # as the user part, and the secret parameters of a presigned URL.
    (" redis://:SECRETPW@host", " redis://:**@host"),
    ("redis//:SECRETPW@host:6379/0", "redis//:**@host:6379/0"),
    ("https://ghp_SECRETTOKEN@mlflow.example", "https://**@mlflow.example"),
    (
        "https://m.example/?X-Amz-Security-Token=S1&X-Amz-Signature=S2&sig=S3&auth=S4&X-Amz-Credential=S5",
        "https://m.example/?X-Amz-Security-Token=**&X-Amz-Signature=**&sig=**&auth=**&X-Amz-Credential=**",
    ),
    ("https://m.example/?design=1&signal=2", "https://m.example/?design=1&signal=2"),
]


@pytest.mark.parametrize(("value", "printed"), MASKED)
def test_passwords_inside_urls_are_masked(value, printed):
    assert masked_url(value) == printed
    assert shown(value) == printed


@pytest.mark.parametrize(("value", "printed"), [(None, ""), (3.5, "3.5"), ("plain", "plain")])
def test_other_values_are_printed_as_they_are(value, printed):
    assert shown(value) == printed


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (PEM * 2, f"PEM: 2 block(s), {2 * len(PEM)} characters"),
        ("first\nsecond\nthird", "first ... (3 lines)"),
        ("one line\n", "one line\n"),
    ],
)
def test_a_value_of_several_lines_is_summed_up_on_one(value, printed):
    """A CA bundle (FRAUD_MLFLOW_CA_BUNDLE) printed whole broke `fraud config`'s one row per setting."""
    assert shown(value) == printed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FRAUD_BROKER_URL", "redis://:12#34secret@redis.internal:6379/0"),  # names no host
        ("FRAUD_BROKER_URL", "redis:/:34secret@redis.internal:6379/0"),  # wrong scheme
        ("FRAUD_STORAGE_URI", "gs://u:34secret@bucket/x"),
        ("FRAUD_HOME", "s3://u:34secret@bucket"),
        ("FRAUD_BROKER_URL", " redis://:34secret@host"),
        ("FRAUD_BROKER_URL", "redis//:34secret@host:6379/0"),
    ],
)
def test_a_refused_setting_is_named_without_its_password(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = configuration_problems(refused.value.errors())  # the one line every entry point prints
    assert variable in message
    assert "34secret" not in message


def test_a_database_tracking_store_is_named_without_its_password():
    """`reaching` names the store in 503 bodies and every poll's log line: a database URI was kept whole."""
    assert (
        display_uri("postgresql+psycopg2://mlflow:S3cret@db:5432/mlflow")
        == "postgresql+psycopg2://mlflow:**@db:5432/mlflow"
    )
    assert display_uri("https://ops:S3cret@mlflow.internal/") == "https://mlflow.internal/"
