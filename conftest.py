"""Root conftest: test-wide environment and the fixture plugins that start real servers."""

import os

import pytest

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
    "tests.fixtures.mlflow_site",
]

# The slowest test files (seconds of a `make test` on 2 cores, --durations), started first: xdist hands out
# whole files (--dist loadfile) in collection order, and longest-first lets the two workers end together.
# The image build leads because on a fresh machine it is the longest of all (~5 min cold, ~1.5 min warm).
SLOWEST_FIRST = (
    "tests/e2e/test_container_image.py",
    "tests/e2e/test_api_server.py",  # builds the shared trained home first
    "tests/e2e/test_cli_prefect_lost.py",  # ~230 s: a Prefect server killed mid-run
    "tests/integration/test_ansible.py",
    "tests/e2e/test_batch_workers.py",
    "tests/e2e/test_prefect_deployment.py",
    "tests/e2e/test_drift_retraining.py",
    "tests/e2e/test_cli_pipeline.py",
    "tests/e2e/test_cli_real_services.py",
    "tests/e2e/test_mlflow_identities.py",
    "tests/e2e/test_stack.py",
    "tests/e2e/test_cli_bad_input.py",
    "tests/e2e/test_prometheus_dashboards.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest files first (a stable sort: each file's tests keep their order and stay together)."""
    rank = {path: position for position, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
