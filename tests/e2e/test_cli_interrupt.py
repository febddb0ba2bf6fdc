"""Ctrl-C during `fraud pipeline run`, as a terminal sends it: SIGINT to the command's whole process group.

The run must stop within seconds with exit code 130 and one line saying what it left behind, register nothing
it did not say it registered, print no traceback, and leave no process behind (Prefect's temporary server
included: it runs in a session of its own, so it is looked for by the FRAUD_HOME in its environment). Before
the fix the SIGINT killed the temporary server, the flow retried its state reports against it for minutes and
exited 1 with an httpx traceback (or went on to register a version).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import FRAUD, Cli, make_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HANG_GUARD = (
    60  # seconds from the SIGINT to the exit: far above the few seconds it takes; not a timing assert
)
STARTUP_GUARD = 600  # the temporary server's cold start and the first stages on a loaded 2-core machine
PROGRESS = ("starting the Prefect flow", "✓ ")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("interrupt-data")
    generated = make_cli(home)("data", "generate", "--rows", "20000", "--fraud-rate", "0.005", "--seed", "3")
    assert generated.returncode == 0, generated.stderr
    return home / "data" / "creditcard.csv"


def cli_for(tmp_path: Path, dataset: Path, **extra: str) -> Cli:
    # PREFECT_HOME per test: the temporary server's database is not shared with another run
    return make_cli(
        tmp_path, FRAUD_DATASET_PATH=str(dataset), PREFECT_HOME=str(tmp_path / "prefect"), **extra
    )


def interrupt_run(cli: Cli, after: str) -> tuple[int, list[str]]:
    """Start `fraud pipeline run` in its own process group, SIGINT the group once a stderr line starts with
    `after`, and return the exit code and the stderr lines."""
    process = subprocess.Popen(
        [FRAUD, "pipeline", "run"],
        env=cli.env,
        cwd=cli.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + STARTUP_GUARD
        while not any(line.startswith(after) for line in seen):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"the run ended before {after!r}:\n" + "\n".join(seen)
            seen.append(line)
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=HANG_GUARD)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    while (line := lines.get(timeout=HANG_GUARD)) is not None:
        seen.append(line)
    return code, seen


def survivors(home: Path) -> list[str]:
    """Processes still running with this FRAUD_HOME in their environment (the CLI's children inherit it)."""
    marker = f"FRAUD_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def registered_versions(cli: Cli) -> list[dict[str, object]]:
    listed = cli("model", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    versions: list[dict[str, object]] = json.loads(listed.stdout)
    return versions


def assert_one_line_report(stderr: list[str], code: int) -> str:
    """Exit 130, no traceback, and besides progress lines exactly one line: the report, last."""
    text = "\n".join(stderr)
    assert code == 130, text
    assert "Traceback" not in text
    others = [line for line in stderr if line.strip() and not line.startswith(PROGRESS)]
    assert len(others) == 1, text
    assert others[0] == stderr[-1]
    assert others[0].startswith("interrupted: "), text
    return others[0]


@pytest.mark.parametrize("server", ["temporary", "prefect-server"])
def test_ctrl_c_during_training_stops_the_run_and_registers_nothing(
    server: str, dataset: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    extra = {"PREFECT_API_URL": request.getfixturevalue("prefect_api_url")} if server != "temporary" else {}
    cli = cli_for(tmp_path, dataset, **extra)
    # "✓ features" is the last line before training starts: the signal lands in `train` (~30 s here)
    code, stderr = interrupt_run(cli, "✓ features")
    report = assert_one_line_report(stderr, code)
    assert report.endswith("nothing was registered"), report
    assert not any(line.startswith(("✓ train", "✓ register")) for line in stderr)
    assert registered_versions(cli) == []
    assert survivors(tmp_path) == []


def test_ctrl_c_right_before_registering_leaves_what_it_says(dataset: Path, tmp_path: Path) -> None:
    """The signal lands around the start of `register`: the stage either never starts or finishes whole
    (registered @challenger, no gate decision); the report says which, and the registry agrees. (A machine
    stalled past `register` and the gate's scoring would see the gate's records whole: that is told too.)"""
    cli = cli_for(tmp_path, dataset)
    code, stderr = interrupt_run(cli, "✓ evaluate")
    report = assert_one_line_report(stderr, code)
    versions = [
        (v["version"], v["aliases"], v["tags"].get("promotion_decision")) for v in registered_versions(cli)
    ]
    registered = any(line.startswith("✓ register") for line in stderr)
    decided = any(line.startswith("✓ promote") for line in stderr)
    if report.endswith("nothing was registered"):
        assert not registered
        assert versions == []
    elif "the promotion gate decided nothing" in report:
        assert "after registering fraud-lgbm v1 @challenger" in report
        assert registered
        assert not decided
        assert versions == [(1, ["challenger"], None)]
    else:
        assert report.startswith("interrupted: the pipeline had finished (fraud-lgbm v1 @challenger"), report
        assert decided
        assert versions == [(1, ["champion"], "promote")]  # the first version: no champion to beat
    assert survivors(tmp_path) == []
