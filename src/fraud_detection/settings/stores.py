"""Where state lives: FRAUD_HOME, the object store, MLflow, the event bus and the default dataset."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

from fraud_detection.domain.redaction import masked_url
from fraud_detection.domain.windows import MAX_DAYS
from fraud_detection.settings.rules import (
    URL_LIKE,
    check_url,
    expanded,
    file_not_folder,
    folder_not_file,
    local_path,
    unset_if_empty,
)

STORAGE_SCHEMES = ("s3://", "file://")
# The tracking stores that hold a model registry; `+driver` variants such as postgresql+psycopg2.
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
TRACKING_SCHEMES = ("http", "https", "sqlite", *DATABASE_SCHEMES)
DEFAULT_HOME = Path(".fraud")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # safe as an MLflow name and inside object-store keys
CERTIFICATE_MARK = "-----BEGIN CERTIFICATE-----"
PRIVATE_KEY_MARK = "PRIVATE KEY-----"  # BEGIN PRIVATE KEY, BEGIN RSA/EC/ENCRYPTED PRIVATE KEY


class StoreSettings(BaseSettings):
    home: Path = Field(
        DEFAULT_HOME,
        description="Data dir of the embedded mode (store, MLflow DB, reports). A relative path is taken "
        "from the folder each command runs in: set an absolute one to run `fraud` from any folder.",
    )
    storage_uri: str | None = Field(
        None, description="Object store: `s3://bucket/prefix` or a folder path; default `<home>/store`."
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible server (SeaweedFS, MinIO); unset for AWS S3."
    )
    aws_region: str = Field(
        "eu-west-1",
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        validation_alias=AliasChoices("FRAUD_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
        description="AWS region for S3, EventBridge and Secrets Manager; unset, `AWS_REGION` or "
        "`AWS_DEFAULT_REGION` (the AWS SDKs' own) is used when set.",
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "FRAUD_MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry server (also read as `FRAUD_MLFLOW_TRACKING_URI`); default "
        "SQLite `<home>/mlflow.db`.",
    )
    mlflow_ca_bundle: str | None = Field(
        None,
        description="PEM text of the CA certificate(s) that sign the MLflow server's TLS certificate (on "
        "ECS, from the secret `fraud/<env>/mlflow-ca`): written to a private file under FRAUD_HOME, which "
        "`MLFLOW_TRACKING_SERVER_CERT_PATH` then names, unless that variable is already set (then the "
        "deployer's path wins); unset: the image's public CAs.",
    )
    mlflow_experiment: str = Field(
        "fraud-detection",
        min_length=1,
        pattern=r"\S",  # something besides spaces: " " made an experiment named " "
        description="MLflow experiment for training runs.",
    )
    mlflow_abandoned_run_hours: float = Field(
        12.0,
        gt=0,
        lt=MAX_DAYS * 24,  # larger overflowed timedelta: a traceback at the first run
        description="A training run still RUNNING this long after its start is taken as abandoned (its "
        "process died before its end reached MLflow): the next run marks it FAILED, tagged "
        "`fraud.abandoned`.",
    )
    model_name: str = Field("fraud-lgbm", pattern=NAME_PATTERN, description="Registered model name.")
    event_bus: str | None = Field(
        None, description="EventBridge bus name for domain events; unset = in-process (logged)."
    )
    dataset_path: Path | None = Field(
        None, description="Default source of `fraud pipeline run`; default `<home>/data/creditcard.csv`."
    )

    @field_validator(
        "storage_uri",
        "s3_endpoint_url",
        "mlflow_tracking_uri",
        "mlflow_ca_bundle",
        "event_bus",
        mode="before",
    )
    @classmethod
    def _store_empty_is_unset(cls, value: object) -> object:
        return unset_if_empty(value)

    @field_validator("home", "dataset_path", mode="before")
    @classmethod
    def _store_local_paths(cls, value: object, info: ValidationInfo) -> object:
        """An empty FRAUD_HOME is the default too: as the path "", it would be the current folder, and the
        registry, store and data would land in whatever folder a command ran in."""
        if info.field_name == "home":
            return local_path(unset_if_empty(value) or DEFAULT_HOME)
        path = local_path(unset_if_empty(value))
        if isinstance(path, str):  # a folder failed the run's ingest, naming the path but not the variable
            file_not_folder(path)
        return path

    @field_validator("home")
    @classmethod
    def _home(cls, value: Path) -> Path:
        folder_not_file(str(value))
        return value

    @field_validator("storage_uri")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        """A folder, `file://folder` or `s3://bucket[/prefix]`; another scheme would become a folder named
        `gs:` (the bug class of a URL read as a path)."""
        if value is None:
            return value
        if not URL_LIKE.match(value) or value.startswith("file://"):
            folder = value.removeprefix("file://")
            if not folder:  # `file://`: the store was the current folder of each command
                raise ValueError("file:// names no folder: use file:///absolute/path or a path")
            folder_not_file(expanded(folder))
            return value
        if not value.startswith(STORAGE_SCHEMES):
            schemes = ", ".join(STORAGE_SCHEMES)
            raise ValueError(f"must be a folder or start with one of {schemes}, got {masked_url(value)!r}")
        parts = urlsplit(value)
        if parts.scheme == "s3" and (not parts.netloc or parts.query or parts.fragment):
            raise ValueError(f"must be s3://bucket or s3://bucket/prefix, got {masked_url(value)!r}")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, ("http://", "https://"))

    @field_validator("mlflow_tracking_uri")
    @classmethod
    def _tracking_uri(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "://" in value:
            scheme = value.split("://", 1)[0].split("+", 1)[0]
        else:  # MLflow's `databricks`; any other bare value is a folder
            scheme = "databricks" if value.split(":", 1)[0] == "databricks" else "file"
        if scheme == "databricks":  # its registry and credentials were never tried: a traceback at first use
            raise ValueError(
                "Databricks-hosted MLflow is not supported: use an http(s):// MLflow server or a database"
            )
        if scheme == "file":  # MLflow 3 refuses its file store unless MLFLOW_ALLOW_FILE_STORE is set
            raise ValueError(
                f"'{value}' is MLflow's file store, which holds no model registry here: use "
                "sqlite:///PATH/mlflow.db or an http(s):// tracking server"
            )
        if scheme not in TRACKING_SCHEMES:
            raise ValueError(f"has scheme {scheme!r}; MLflow understands {', '.join(TRACKING_SCHEMES)}")
        if scheme in ("http", "https"):
            check_url(value, ("http://", "https://"))
        if scheme == "sqlite":
            _check_sqlite(value)
        if scheme in DATABASE_SCHEMES:
            _check_driver(value)
        return value

    @field_validator("mlflow_ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        return None if value is None else _check_ca_bundle(value)


def _check_ca_bundle(pem: str) -> str:
    """PEM certificates OpenSSL loads as trust anchors, as the MLflow client will: a bundle it cannot load
    would fail every MLflow request with an SSL error, far from the setting. A private key pasted with the
    certificate is refused rather than handed to every task."""
    if PRIVATE_KEY_MARK in pem:
        raise ValueError("holds a private key: put only the CA certificate(s), in PEM")
    if CERTIFICATE_MARK not in pem:
        raise ValueError(
            f"holds no {CERTIFICATE_MARK} block: put the PEM of the CA certificate(s) that sign the MLflow "
            "server's certificate"
        )
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as error:
        reason = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(error).splitlines()[0])  # OpenSSL's, not its line
        raise ValueError(
            f"holds a certificate that does not parse ({reason}): put each CA certificate's PEM block whole"
        ) from None
    return pem


def _check_sqlite(uri: str) -> None:
    """An in-memory SQLite registry (`sqlite://`, `sqlite:///:memory:`) is gone when the command exits: a
    run reported its model registered and the next command found none."""
    parts = urlsplit(uri)
    if parts.path in ("", "/", "/:memory:") or "mode=memory" in parts.query:
        raise ValueError(
            f"{masked_url(uri)!r} is an in-memory database, lost when each command exits: name a file, "
            "sqlite:////absolute/path/mlflow.db"
        )


def _check_driver(uri: str) -> None:
    """The database's Python driver must be installed: `postgresql://` means psycopg (3) to SQLAlchemy 2.1,
    which this image does not ship; without the check every MLflow call failed with a traceback."""
    import sqlalchemy.exc  # here, not at the top: only database URIs pay for the import (~0.1 s)
    from sqlalchemy.engine import make_url

    try:
        make_url(uri).get_dialect().import_dbapi()
    except ImportError as error:
        module = getattr(error, "name", None) or str(error)
        hint = " (installed: postgresql+psycopg2://)" if uri.startswith("postgresql") else ""
        raise ValueError(
            f"needs the Python database driver {module!r}, which is not installed: name an installed one "
            f"as scheme+driver{hint}"
        ) from None
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as error:
        raise ValueError(f"is not a database URL SQLAlchemy understands: {error}") from None
