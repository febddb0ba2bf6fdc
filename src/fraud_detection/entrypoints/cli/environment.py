"""Process defaults set before Prefect or MLflow are imported: offline-friendly and quiet."""

from __future__ import annotations

import os

QUIET_OFFLINE_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Prefect's console lines (and its tracebacks for expected errors such as a failed validation) would
    # bury our stage progress; they still reach a Prefect server's UI. `--verbose` brings them back.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    # The temporary server needs longer than the 20 s default on a busy 2-core machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "GIT_PYTHON_REFRESH": "quiet",
    # MLflow logs database migrations and run URLs at INFO on the console, and each failed SQL statement at
    # ERROR with its traceback (8 of them, 366 lines, for one full disk): the command reports the failure
    # itself, in one line. `--verbose` brings them back.
    "MLFLOW_LOGGING_LEVEL": "CRITICAL",
}


def apply_defaults(verbose: bool = False) -> None:
    """Set each default unless the user set the variable (their choice wins)."""
    for name, value in QUIET_OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if verbose:
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "INFO"
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"
