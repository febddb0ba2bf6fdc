"""Scratch folders of batch steps on a real filesystem, held by real processes that are then SIGKILLed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fraud_detection.infrastructure.arrow.batch.scratch import FOLDER_PREFIX, remove_abandoned, scratch_folder

pytestmark = pytest.mark.integration

# A batch step in another process: takes a scratch folder, writes a file in it, says where, then waits.
STEP = """
import sys, time
from pathlib import Path
from fraud_detection.infrastructure.arrow.batch.scratch import scratch_folder
with scratch_folder(Path(sys.argv[1])) as folder:
    (folder / "input.csv").write_bytes(b"x" * 1000)
    print(folder, flush=True)
    time.sleep(600)
"""


def start_step(scratch: Path) -> tuple[subprocess.Popen[str], Path]:
    step = subprocess.Popen([sys.executable, "-c", STEP, str(scratch)], stdout=subprocess.PIPE, text=True)
    assert step.stdout is not None
    return step, Path(step.stdout.readline().strip())


def age(folder: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(folder, (past, past))


def test_a_killed_steps_folder_is_removed_by_the_next_step_and_a_live_ones_is_kept(tmp_path):
    scratch = tmp_path / "scratch"
    killed, killed_folder = start_step(scratch)
    live, live_folder = start_step(scratch)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        for folder in (killed_folder, live_folder):
            age(folder, 3600)
        assert (killed_folder / "input.csv").exists()  # SIGKILL runs no clean-up
        with scratch_folder(scratch) as mine:
            assert not killed_folder.exists()
            assert (live_folder / "input.csv").exists()
            assert remove_abandoned(scratch, grace_seconds=0) == []  # its own folder is held too
            assert mine.exists()
        assert not mine.exists()
    finally:
        live.kill()
        live.wait(timeout=30)
    assert remove_abandoned(scratch, grace_seconds=0) == [live_folder]
    assert list(scratch.iterdir()) == []


def test_young_unheld_folders_and_other_names_are_left_alone(tmp_path):
    """A folder may be between its creation and its lock: within the grace period it is not touched."""
    scratch = tmp_path / "scratch"
    young = scratch / f"{FOLDER_PREFIX}young"
    other = scratch / "someone-elses"
    for folder in (young, other):
        folder.mkdir(parents=True)
        (folder / "file").write_text("kept")
    age(other, 3600)
    assert remove_abandoned(scratch) == []
    age(young, 3600)
    assert remove_abandoned(scratch) == [young]
    assert (other / "file").read_text() == "kept"


def test_a_missing_scratch_folder_is_no_error(tmp_path):
    assert remove_abandoned(tmp_path / "never-made") == []
