"""Drive the `fraud` console script in subprocesses, as a user would, on an isolated FRAUD_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    """A FRAUD_HOME where the pipeline registered two versions: v1 (champion) and v2, on different data."""
    home = tmp_path_factory.mktemp("trained")
    cli = make_cli(home, PREFECT_API_URL=prefect_api_url)
    for seed in ("1", "2"):
        generated = cli(
            "data", "generate", "--rows", "30000", "--fraud-rate", "0.005", "--seed", seed, "--force"
        )
        assert generated.returncode == 0, generated.stderr
        run = cli("pipeline", "run")
        assert run.returncode == 0, run.stderr
    cli("model", "promote", "1")
    return home
