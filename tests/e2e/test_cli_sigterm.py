"""SIGTERM (a container stop, systemd, `timeout`) stops a one-shot command as Ctrl-C does.

Python's default was to die at once: `fraud data generate --output` left its `.part` sibling, `fraud data
ingest` its staging folder in the temporary directory. Now the command cleans up, prints `terminated` and
exits 143, and what was stored before stays as it was.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import FRAUD, Cli, make_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = 1_000_000  # writing or staging this many rows takes seconds: the signal lands mid-way
APPEAR_GUARD = 300  # seconds for the temporary file to show up on a loaded machine; not a timing assert
EXIT_GUARD = 60


def terminate_when(
    cli: Cli, command: list[str], appeared: Callable[[], bool]
) -> subprocess.CompletedProcess[str]:
    """Start `fraud <command>`, send SIGTERM once `appeared()` holds, and return how it ended."""
    process = subprocess.Popen(
        [FRAUD, *command],
        env=cli.env,
        cwd=cli.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + APPEAR_GUARD
    while not appeared():
        assert process.poll() is None, f"ended before the signal: {process.communicate()}"
        assert time.monotonic() < deadline, "the temporary file never appeared"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=EXIT_GUARD)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_generate_leaves_no_part_file_and_the_old_file_whole(tmp_path: Path) -> None:
    cli = make_cli(tmp_path)
    target = tmp_path / "out.csv"
    target.write_text("kept\n")

    ended = terminate_when(
        cli,
        ["data", "generate", "--rows", str(ROWS), "--output", str(target), "--force"],
        lambda: any(tmp_path.glob(".out.csv.*.part")),
    )

    assert (ended.returncode, ended.stderr.strip().splitlines()[-1]) == (143, "terminated"), ended.stderr
    assert "Traceback" not in ended.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv"]  # no .part, nothing else
    assert target.read_text() == "kept\n"


def test_ingest_removes_its_staging_folder_and_stores_nothing(tmp_path: Path) -> None:
    for folder in ("make", "home", "tmp"):
        (tmp_path / folder).mkdir()
    made = make_cli(tmp_path / "make")("data", "generate", "--rows", str(ROWS), "--seed", "5")
    assert made.returncode == 0, made.stderr
    scratch = tmp_path / "tmp"
    cli = make_cli(tmp_path / "home", TMPDIR=str(scratch))

    ended = terminate_when(
        cli,
        ["data", "ingest", str(tmp_path / "make" / "data" / "creditcard.csv")],
        lambda: any(scratch.iterdir()),
    )

    assert (ended.returncode, ended.stderr.strip().splitlines()[-1]) == (143, "terminated"), ended.stderr
    assert list(scratch.iterdir()) == []
    listed = cli("data", "list")
    assert (listed.returncode, listed.stdout.strip().splitlines()) == (
        0,
        ["id\trows\tfrauds\tcreated\tsource"],
    )
