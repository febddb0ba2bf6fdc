"""Root conftest: test-wide environment and the fixture plugins that start real servers."""

import os

# Everything here is offline: no telemetry, no analytics, no version checks.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.seaweedfs",
    "tests.fixtures.mlflow_server",
    "tests.fixtures.prefect_server",
    "tests.fixtures.redis_server",
]
