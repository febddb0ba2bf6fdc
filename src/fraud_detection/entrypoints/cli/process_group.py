"""Run a program as its own process group and stop the whole group with it.

`mlflow ui` is a tree: the mlflow CLI, a uvicorn parent, its workers, and in MLflow 3 a job runner with its
huey consumers. A SIGTERM to the CLI alone leaves parts of that tree running (a worker still starting holds
its parent in "waiting for child process"; the job runner outlives the server it polls for). Started in a
new session, every descendant shares the leader's process group, so one `killpg` reaches them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from types import FrameType

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_process_group(argv: Sequence[str], env: Mapping[str, str], grace_seconds: float = 10.0) -> int:
    """The program's exit code, or 0 once a SIGINT/SIGTERM/SIGHUP to this process stopped it. Either way,
    nothing of its group is left: SIGTERM, `grace_seconds` to finish, then SIGKILL."""
    process = subprocess.Popen(list(argv), env=dict(env), start_new_session=True)
    stopped: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopped.append(signum)
        _signal_group(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in STOPPING_SIGNALS}
    try:
        code = process.wait()
    finally:
        try:
            stop_group(process.pid, grace_seconds)  # what the leader left behind, or all of it on an error
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if process.poll() is None:
                process.kill()
                process.wait()
    return 0 if stopped else code


def stop_group(group: int, grace_seconds: float) -> None:
    """SIGTERM the group, wait until it is empty or `grace_seconds` passed, then SIGKILL what is left."""
    if not _signal_group(group, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _group_has_live_members(group):
            return
        time.sleep(0.1)
    _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, sig: int) -> bool:
    """False when the group has no member left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    return True


def _group_has_live_members(group: int) -> bool:
    """Exited members stay in the group as zombies until their parent (init, for orphans) reaps them;
    those count as gone. Read from /proc where there is one, else from `killpg(group, 0)`."""
    if not os.path.isdir("/proc/self"):
        return _signal_group(group, 0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if fields and int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
