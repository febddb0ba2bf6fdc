"""Drive the `fraud` console script in subprocesses, as a user would, on an isolated FRAUD_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.shared import shared_folder

FRAUD = str(Path(sys.executable).parent / "fraud")


@dataclass
class Cli:
    home: Path
    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run([FRAUD, *args], timeout=timeout)

    def run(
        self, command: list[str], cwd: Path | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, env=self.env, cwd=cwd or self.home, capture_output=True, text=True, timeout=timeout
        )


def make_cli(home: Path, **extra: str) -> Cli:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING", "PREFECT_API"))
    }
    # Retraining on events only where a test asks for it (see the root conftest).
    env |= {"FRAUD_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1", "FRAUD_RETRAIN_ON_EVENTS": "false"}
    env |= extra
    return Cli(home, env)


@pytest.fixture
def cli(tmp_path: Path, prefect_api_url: str) -> Cli:
    """The CLI against the session's Prefect server (the embedded temporary server is tested once)."""
    return make_cli(tmp_path, PREFECT_API_URL=prefect_api_url)


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Path:
    """A FRAUD_HOME where the pipeline, run through the CLI, registered v1 (champion) and v2 on the same data
    (which the gate keeps as challenger, having no rows new to v1: test_cli_pipeline checks that).

    Built once per test run, whatever the number of xdist workers, and never changed: tests copy it
    (`tests.e2e.serving.copy_home`). Each run's summary and stderr are kept under `runs/` for the pipeline
    test to read, so that test trains nothing itself.
    """
    return shared_folder(tmp_path_factory, "trained-home", lambda home: _train(home, prefect_api_url))


def _train(home: Path, prefect_api_url: str) -> None:
    cli = make_cli(home, PREFECT_API_URL=prefect_api_url)
    (home / "runs").mkdir()
    generated = cli("data", "generate", "--rows", "30000", "--fraud-rate", "0.005", "--seed", "1", "--force")
    assert generated.returncode == 0, generated.stderr
    for seed in ("1", "2"):  # the same data twice: no row is new to v1, so the gate keeps it
        run = cli("pipeline", "run", "--summary-json", f"runs/{seed}.json")
        assert run.returncode == 0, run.stderr
        (home / "runs" / f"{seed}.stderr").write_text(run.stderr)
