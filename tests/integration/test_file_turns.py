"""Turns between processes on a lock file (infrastructure/local/file_turns.py), with real processes: what
keeps two `fraud model promote` at once from losing one promotion from the champion history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fraud_detection.infrastructure.local.file_turns import FileTurns

pytestmark = pytest.mark.integration

# Read a counter, wait, write it back plus one, 15 times, each under the turn: a lost update shows as a
# total below 2 x 15 when two such processes run at once.
INCREMENTS = """
import sys, time
from pathlib import Path
from fraud_detection.infrastructure.local.file_turns import FileTurns
counter, lock = Path(sys.argv[1]), Path(sys.argv[2])
for _ in range(15):
    with FileTurns.at(lock).held():
        with FileTurns.at(lock).held():  # re-entrant: a move inside a rollout step takes it again
            value = int(counter.read_text())
            time.sleep(0.005)
            counter.write_text(str(value + 1))
"""


def try_lock(path: Path) -> list[str]:
    """A command that takes the lock without waiting: it fails while another process holds it."""
    code = f"import fcntl; fcntl.flock(open({str(path)!r}, 'ab'), fcntl.LOCK_EX | fcntl.LOCK_NB)"
    return [sys.executable, "-c", code]


def test_two_processes_take_turns_and_lose_no_update(tmp_path: Path) -> None:
    counter, lock = tmp_path / "counter", tmp_path / "x.lock"
    counter.write_text("0")
    runs = [subprocess.Popen([sys.executable, "-c", INCREMENTS, str(counter), str(lock)]) for _ in range(2)]
    assert [run.wait(120) for run in runs] == [0, 0]
    assert counter.read_text() == "30"


def test_a_held_turn_is_the_same_in_one_process_and_released_at_the_end(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    assert FileTurns.at(lock) is FileTurns.at(tmp_path / "." / "x.lock")
    probe = try_lock(lock)
    with FileTurns.at(lock).held():
        assert subprocess.run(probe, capture_output=True).returncode != 0  # another process must wait
    assert subprocess.run(probe, capture_output=True).returncode == 0


def test_the_sqlite_registry_takes_its_turn_beside_the_database(tmp_path: Path) -> None:
    from fraud_detection.infrastructure.mlflow.registry import MlflowModelRegistry

    registry = MlflowModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", "fraud-lgbm")
    lock = tmp_path / "mlflow.db.champion-lock"
    probe = try_lock(lock)
    with registry.champion_turn():
        assert subprocess.run(probe, capture_output=True).returncode != 0
    served = MlflowModelRegistry("http://127.0.0.1:9/", "fraud-lgbm")
    with served.champion_turn():  # a tracking server: no lock to take (README, "Known limits")
        pass
