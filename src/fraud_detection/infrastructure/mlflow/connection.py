"""One MLflow client per tracking URI, bounded HTTP retries, and store failures turned into a domain error."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy.exc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from fraud_detection.domain.errors import (
    FraudDetectionError,
    RegistryAccessDeniedError,
    ServiceUnavailableError,
    StorageFullError,
)
from fraud_detection.domain.redaction import masked_url
from fraud_detection.infrastructure.local.disk_space import io_error_advice
from fraud_detection.infrastructure.local.file_turns import FileTurns

# MLflow's defaults (7 retries, backoff factor 2, 120 s timeout) make a request to a stopped server fail
# only after ~4 minutes (measured: 246 s), because they are tuned for rate-limited hosted services. Against
# our own server we would rather fail in seconds: 3 retries, 0 + 2 + 4 s of backoff (~7 s when the port is
# closed; ~46 s when a host accepts connections but never answers). Set in the environment (the only
# switch MLflow reads), and only when the deployer has not set them.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
# MLflow tries to open a database tracking store (postgresql://...) 10 times, sleeping 0.1 * (2**n - 1) s
# between tries: a stopped PostgreSQL was reported after 104 s (`fraud model list`, measured). It reads no
# setting for this, so its module constant is lowered, as the HTTP retries are: 6 tries, ~6 s of waits.
DATABASE_ATTEMPTS = 6
# tqdm bars on every artifact download clutter the API's and workers' logs, and ending a run on a server
# prints its URL to stdout, which would corrupt a CLI's JSON output (the run's `location` gives it).
QUIET_DEFAULTS = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
UNAVAILABLE_CODES = {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}
# A server that refused the identity rather than failed: MLflow's codes for an HTTP 401/403 (nginx in front of
# the MLflow host answers the read-only identity's writes 403), and the statuses of artifact requests.
DENIED_CODES = {"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403}
DENIED_STATUSES = set(DENIED_CODES.values())
# Turns off certificate checks for every MLflow request (model downloads included): refused, so a network
# attacker can never hand this service a registry answer or a model file. A private CA goes in
# MLFLOW_TRACKING_SERVER_CERT_PATH instead.
INSECURE_TLS_VARIABLE = "MLFLOW_TRACKING_INSECURE_TLS"


class TrackingStoreUnavailableError(ServiceUnavailableError):
    """The MLflow tracking server or store could not be reached or written."""


class TrackingStoreFullError(TrackingStoreUnavailableError, StorageFullError):
    """The tracking store's SQLite file, or the disk under it or its artifacts, is full."""


# SQLite's and the operating system's words for it (SQLITE_FULL; ENOSPC)
DISK_FULL_SIGNS = ("database or disk is full", "No space left on device")
# Where an MLflow server proxies artifacts (`mlflow server --serve-artifacts`, MLflow 2+ default)
ARTIFACT_PROXY_PATH = "/mlflow-artifacts/"
# SQLITE_IOERR: a failing disk, or a full one when the write that failed was the journal's
IO_ERROR_SIGN = "disk I/O error"
# SQLITE_NOTADB: the tracking URI names a file that is not a SQLite database (a typo, a copied text file)
NOT_A_DATABASE_SIGN = "file is not a database"


class TrackingStoreNotADatabaseError(TrackingStoreUnavailableError):
    """The SQLite tracking URI names a file that is not a database: the API cannot serve (503) until it is
    fixed, and the message says what to fix."""

    advice_included = True


class TrackingStoreAccessDeniedError(RegistryAccessDeniedError):
    """The MLflow server refused the identity: a wrong password, or a read-only identity trying to write."""


class InsecureTlsRefusedError(FraudDetectionError):
    """MLFLOW_TRACKING_INSECURE_TLS is set: this service never talks to MLflow without verifying TLS."""


def refuse_insecure_tls() -> None:
    value = os.environ.get(INSECURE_TLS_VARIABLE, "").strip().lower()
    if value not in ("", "false", "0", "no"):
        raise InsecureTlsRefusedError(
            f"{INSECURE_TLS_VARIABLE}={value!r} would turn off TLS verification towards MLflow; unset it "
            "(for a private CA, set MLFLOW_TRACKING_SERVER_CERT_PATH)"
        )


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def display_uri(uri: str) -> str:
    """The URI for messages, logs and links: an http(s) server's without its user:password; a database's
    (`postgresql://mlflow:pw@db/x`, which reached 503 bodies and every poll's log line) with them masked."""
    parts = urlsplit(uri)
    if not is_http(uri) or "@" not in parts.netloc:
        return masked_url(uri)
    return masked_url(urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])))


def apply_env_defaults(tracking_uri: str) -> None:
    """Process-wide MLflow settings this package relies on, unless the deployer already set them."""
    defaults = QUIET_DEFAULTS | (HTTP_DEFAULTS if is_http(tracking_uri) else {})
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if not is_http(tracking_uri):
        from mlflow.store.db import utils as database_utils

        database_utils.MAX_RETRY_COUNT = min(database_utils.MAX_RETRY_COUNT, DATABASE_ATTEMPTS)


def client_for(tracking_uri: str) -> MlflowClient:
    """A client bound to `tracking_uri` for tracking and registry alike, never to MLflow's global URIs.
    Refuses to exist while TLS verification is switched off (checked here, on first use, so a serving
    process that starts with it set stays up on its verified local copy)."""
    refuse_insecure_tls()
    apply_env_defaults(tracking_uri)
    with _one_schema_creator(tracking_uri):
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of a SQLite tracking URI whose folder exists; None for a server or memory."""
    database = tracking_uri.removeprefix("sqlite:///") if tracking_uri.startswith("sqlite:///") else ""
    if database in ("", ":memory:") or not Path(database).parent.is_dir():
        return None
    return Path(database)


def _one_schema_creator(tracking_uri: str) -> AbstractContextManager[None]:
    """For a SQLite file, one process at a time opens the store (MLflow creates or migrates its schema then):
    two `fraud pipeline run` on a fresh home both created the tables, and one failed with "table runs
    already exists", reported as a store that is down. A turn on a lock file beside the database, held for
    the opening only; the kernel drops it however the process ends."""
    database = sqlite_database(tracking_uri)
    if database is None:  # a server, memory, or a folder MLflow will report missing
        return nullcontext()
    return FileTurns.at(database.with_name(f"{database.name}.open-lock")).held()


# MLflow's error code for a missing run, model, version or alias.
NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"


def registered_model_tags(client: MlflowClient, name: str) -> dict[str, str] | None:
    """The tags of the registered model `name`, or None when it is not registered yet."""
    try:
        return dict(client.get_registered_model(name).tags or {})
    except MlflowException as error:
        if error_code(error) == NOT_FOUND:
            return None
        raise


def error_code(error: MlflowException) -> str:
    return str(error.error_code)


def _unreachable(error: BaseException) -> bool:
    """True when the store, not the request, failed: connection refused, timeout, 5xx after retries (all
    surface as requests errors, which are OSErrors), an unwritable folder, or a SQLite file it cannot open."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError | sqlalchemy.exc.OperationalError):
            return True
        if isinstance(seen, MlflowException) and error_code(seen) in UNAVAILABLE_CODES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _denied_status(error: BaseException) -> int | None:
    """401 or 403 when the server refused the identity: an MLflow error with that code, or an artifact
    request's HTTP error (a requests error, so an OSError: checked before `_unreachable`)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, MlflowException) and error_code(seen) in DENIED_CODES:
            return DENIED_CODES[error_code(seen)]
        status = getattr(getattr(seen, "response", None), "status_code", None)
        if status in DENIED_STATUSES:
            return int(status)
        seen = seen.__cause__ or seen.__context__
    return None


def _denied_message(tracking_uri: str, status: int) -> str:
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    who = f"MLFLOW_TRACKING_USERNAME={user}" if user else "no MLFLOW_TRACKING_USERNAME"
    if status == 401:
        return (
            f"MLflow tracking store {display_uri(tracking_uri)} refused the credentials (401, {who}): check "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
    return (
        f"MLflow tracking store {display_uri(tracking_uri)} refused this request (403, {who}): that identity "
        "may not do it; on the MLflow host only the writer (the retrain task's) may write, the read-only "
        "identity of the API and the workers may only read"
    )


@contextmanager
def reaching(tracking_uri: str) -> Iterator[None]:
    """Run MLflow calls, raising `TrackingStoreUnavailableError` naming the URI when the store is down, and
    `TrackingStoreAccessDeniedError` when it refused the identity (retrying would not help)."""
    try:
        yield
    except FraudDetectionError:
        raise
    except Exception as error:
        status = _denied_status(error)
        if status is not None:
            raise TrackingStoreAccessDeniedError(_denied_message(tracking_uri, status)) from error
        if isinstance(error, sqlalchemy.exc.DatabaseError) and NOT_A_DATABASE_SIGN in str(error):
            # one line, as below (SQLAlchemy's message goes on with the statement)
            raise TrackingStoreNotADatabaseError(
                f"MLflow tracking store {display_uri(tracking_uri)}: that file is not a SQLite database "
                "(check MLFLOW_TRACKING_URI)"
            ) from error
        if _unreachable(error) and ARTIFACT_PROXY_PATH in str(error):
            # The server answered; the artifact store behind it (its S3 bucket) did not: naming the server
            # alone sent operators to restart a healthy MLflow
            raise TrackingStoreUnavailableError(
                f"MLflow server {display_uri(tracking_uri)} could not reach its artifact store (an artifact "
                f"request failed: check the bucket or S3 endpoint the server stores artifacts in): {error}"
            ) from error
        if _unreachable(error):
            where = f"MLflow tracking store {display_uri(tracking_uri)}"
            if any(sign in str(error) for sign in DISK_FULL_SIGNS):
                # one line: SQLAlchemy's message goes on with the statement and its parameters
                full = f"{where}: its database or disk is full (free space on that disk and try again)"
                raise TrackingStoreFullError(full) from error
            database = sqlite_database(tracking_uri)
            if database is not None and IO_ERROR_SIGN in str(error):  # on a full disk too (its journal)
                failed = f"{where}: disk I/O error ({io_error_advice(database)} and try again)"
                raise TrackingStoreFullError(failed) from error
            raise TrackingStoreUnavailableError(f"{where} is unavailable: {_one_line(error)}") from error
        raise


def _one_line(error: Exception) -> str:
    """An error as one line: a database driver's message runs over three (psycopg2's hint, then
    SQLAlchemy's "Background on this error" link) and may go on with the statement and its parameters."""
    text = str(error).split("[SQL:", 1)[0]
    text = re.sub(r"\(Background on this error at: [^)]*\)", "", text)
    return " ".join(text.split())
