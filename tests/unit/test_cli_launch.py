"""A stop while Python imports the CLI (its first ~0.3 s) ends in one line and 130/143, as any later stop."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

# The stop lands while `app` is being imported: a finder on the import path sends it at that moment.
STOPPED_IN_IMPORT = """
import os, signal, sys
from fraud_detection.entrypoints.cli.launch import main

signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal: an xdist child ignores it

class StopDuringImport:
    def find_spec(self, name, path, target=None):
        if name == "fraud_detection.entrypoints.cli.app":
            os.kill(os.getpid(), signal.{signal})
        return None

sys.meta_path.insert(0, StopDuringImport())
sys.argv[1:] = ["--help"]
main()
"""


@pytest.mark.parametrize(
    ("sent", "verb", "code"),
    [("SIGTERM", "terminated", 143), ("SIGINT", "interrupted", 130)],
)
def test_a_stop_during_the_imports_is_one_line_and_its_exit_code(sent: str, verb: str, code: int) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", STOPPED_IN_IMPORT.format(signal=sent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ended.returncode, ended.stderr, ended.stdout) == (code, f"{verb}\n", "")


def test_the_fraud_script_starts_at_the_launcher() -> None:
    (script,) = entry_points(group="console_scripts", name="fraud")
    assert script.value == "fraud_detection.entrypoints.cli.launch:main"


def test_without_a_stop_the_launcher_runs_the_command() -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "from fraud_detection.entrypoints.cli.launch import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ended.returncode, "Usage" in ended.stdout) == (0, True), ended.stderr
