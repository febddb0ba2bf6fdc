"""Root conftest: test-wide environment and the fixture plugins that start real servers."""

import os

# Everything here is offline: no telemetry, no analytics, no version checks.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
# Tests publishing RetrainRequested (the admin endpoint, the API fuzzer) must not start real trainings; the
# drift e2e test turns local retraining back on for its own processes.
os.environ.setdefault("FRAUD_RETRAIN_ON_EVENTS", "false")

pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.seaweedfs",
    "tests.fixtures.mlflow_server",
    "tests.fixtures.prefect_server",
    "tests.fixtures.redis_server",
]
