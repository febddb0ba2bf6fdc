"""Local retraining on events: the launcher starts `fraud retrain` in a child process, one at a time."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from fraud_detection.domain.events import DriftDetected, RetrainRequested
from fraud_detection.infrastructure.local import retrain_launcher
from fraud_detection.infrastructure.local.in_process_events import InProcessPublisher
from fraud_detection.infrastructure.local.retrain_launcher import SubprocessRetrainLauncher
from fraud_detection.infrastructure.local.retrain_lock import RetrainRunningError, holding, is_held

pytestmark = pytest.mark.integration

# Written whole, then moved into place: the detached test polls for the file, and read it empty once (the
# child had created it, not yet written it).
RECORDER = """
import os, pathlib, sys
pathlib.Path(sys.argv[1] + ".part").write_text(" ".join(sys.argv[2:]))
os.replace(sys.argv[1] + ".part", sys.argv[1])
print("retrain output")
"""


def recorder(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    return [sys.executable, str(script), str(tmp_path / "argv.txt")], tmp_path / "argv.txt"


def drift() -> DriftDetected:
    return DriftDetected("fraud-lgbm", 3, ("V15",), 5_000, "s3://b/drift/reports/x.json", "drift in V15")


def test_an_event_starts_fraud_retrain_with_its_reason_and_waits(tmp_path: Path) -> None:
    command, argv = recorder(tmp_path)
    publisher = InProcessPublisher()
    launcher = SubprocessRetrainLauncher("wait", tmp_path / "logs", command, lock=tmp_path / "retrain.lock")
    publisher.subscribe(DriftDetected.kind, launcher)
    publisher.publish(drift())
    assert argv.read_text() == "retrain --reason DriftDetected: drift in V15"


def test_a_deferred_event_starts_its_retrain_only_when_asked(tmp_path: Path) -> None:
    """`fraud drift check`: the retrain its verdict starts runs after the report is printed."""
    command, argv = recorder(tmp_path)
    publisher = InProcessPublisher()
    launcher = SubprocessRetrainLauncher("defer", tmp_path / "logs", command, lock=tmp_path / "retrain.lock")
    publisher.subscribe(DriftDetected.kind, launcher)
    publisher.subscribe(RetrainRequested.kind, launcher)
    publisher.publish(drift())
    publisher.publish(RetrainRequested("operator"))  # one training at a time: the first one runs
    assert not argv.exists()
    launcher.run_deferred()
    assert argv.read_text() == "retrain --reason DriftDetected: drift in V15"
    argv.unlink()
    launcher.run_deferred()  # nothing left
    assert not argv.exists()


def test_the_detached_launch_logs_to_a_file_and_returns_at_once(tmp_path: Path) -> None:
    command, argv = recorder(tmp_path)
    SubprocessRetrainLauncher("detach", tmp_path / "logs", command)(RetrainRequested("operator"))
    deadline = time.monotonic() + 20
    while not argv.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert argv.read_text() == "retrain --reason RetrainRequested: operator"
    [log] = (tmp_path / "logs").glob("retrain-*.log")
    deadline = time.monotonic() + 10
    while "retrain output" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "retrain output" in log.read_text()


def test_no_second_retrain_while_one_holds_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The warning is taken from the logger call itself: what reaches a log handler depends on how the
    # libraries other tests ran configured logging (levels, disabled loggers).
    warnings: list[str] = []
    monkeypatch.setattr(
        retrain_launcher.logger, "warning", lambda message, *args: warnings.append(message % args)
    )
    command, argv = recorder(tmp_path)
    lock = tmp_path / "retrain.lock"
    launcher = SubprocessRetrainLauncher("wait", tmp_path / "logs", command, lock=lock)
    with holding(lock):
        assert is_held(lock)
        with pytest.raises(RetrainRunningError, match=rf"already running \(pid {os.getpid()}"), holding(lock):
            pass
        launcher(drift())
    assert not argv.exists()
    assert len(warnings) == 1
    assert "one is already running" in warnings[0]
    assert not is_held(lock)  # released with the block
    launcher(drift())
    assert argv.exists()


def test_requests_arriving_together_start_one_retrain(tmp_path: Path) -> None:
    """5 POST /admin/retrain at once started 4 processes (all checked the lock before any child took it),
    and the check itself made a real retrain fail."""
    started = tmp_path / "started"
    script = tmp_path / "slow.py"
    script.write_text(
        "import os, pathlib, sys, time\n"
        f"pathlib.Path({str(started)!r}, str(os.getpid())).touch()\n"
        "time.sleep(3)\n"
    )
    started.mkdir()
    launcher = SubprocessRetrainLauncher(
        "detach", tmp_path / "logs", [sys.executable, str(script)], lock=tmp_path / "retrain.lock"
    )
    threads = [threading.Thread(target=launcher, args=(RetrainRequested("operator"),)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1)
    assert len(list(started.iterdir())) == 1


def test_a_probe_of_the_lock_neither_fails_a_starting_retrain_nor_takes_its_pid(tmp_path: Path) -> None:
    lock = tmp_path / "retrain.lock"
    probes = threading.Event()

    def probe() -> None:
        while not probes.is_set():
            is_held(lock)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        for _ in range(50):  # each start races the probe's momentary hold
            with holding(lock):
                assert lock.read_text() == str(os.getpid())
    finally:
        probes.set()
        prober.join()
