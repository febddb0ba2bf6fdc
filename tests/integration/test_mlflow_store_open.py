"""Two processes opening one fresh SQLite tracking store at once (two `fraud pipeline run` on a new home):
MLflow creates the schema on opening, and without taking turns one of them failed with "table runs already
exists" (or "duplicate column name"), reported as a store that is down (found by a concurrency probe; it
failed in 6 of 6 rounds of this test's race)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPEN = """
import sys
from fraud_detection.infrastructure.mlflow.connection import client_for, reaching
uri = sys.argv[1]
with reaching(uri):
    client_for(uri).search_experiments(max_results=1)
"""


def test_processes_opening_a_fresh_store_at_once_take_turns(tmp_path: Path) -> None:
    for round_ in range(2):
        uri = f"sqlite:///{tmp_path / f'h{round_}' / 'mlflow.db'}"
        (tmp_path / f"h{round_}").mkdir()
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, uri], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(2)
        ]
        results = [(opener.wait(120), opener.stdout.read() if opener.stdout else "") for opener in openers]
        assert all(code == 0 for code, _ in results), results
