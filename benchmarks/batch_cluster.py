"""The processes of benchmarks/batch.py: a Redis broker, `fraud worker` processes, their memory, their logs.

Kept apart from the measurements so batch.py reads as what is measured. Every process is started in its own
process group and stopped by that group's id (SIGTERM, then SIGKILL after a grace period), whatever happens.
Memory is read from /proc (psutil is not installed): the kernel's peak (VmHWM, reset through
/proc/<pid>/clear_refs before each job) of each worker process and its children, and VmRSS sampled on a
thread as a cross-check.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from serve import BenchmarkError, free_port, log_tail

READY_TIMEOUT_SECONDS = 90.0
STOP_GRACE_SECONDS = 20.0
KIB_PER_MIB = 1024


# Processes ------------------------------------------------------------------------------------------------


def stop_group(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the process's own group (it was started with a new session), SIGKILL if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(grace)


def redis_ping(port: int) -> bool:
    """One PING over a raw socket: readiness without the client library."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Debian's redis-server on a free loopback port, no persistence; yields the broker URL (db 0)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchmarkError("redis-server not found on PATH (apt-get install -y redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(folder), "--daemonize", "no", "--protected-mode", "yes",
    ]  # fmt: skip
    log = folder / "redis.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not redis_ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError(f"redis-server did not answer PING:\n{log_tail(log)}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_group(process)


@dataclass
class Worker:
    name: str
    log: Path
    process: subprocess.Popen[bytes]
    ready_seconds: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextlib.contextmanager
def running_workers(names: list[str], env: dict[str, str], logs: Path, cwd: Path) -> Iterator[list[Worker]]:
    """`fraud worker` (concurrency 1: the solo pool, one process) per name, all started at once; yields once
    each has logged Celery's " ready." line. All are stopped on the way out, whatever happened."""
    logs.mkdir(parents=True, exist_ok=True)
    fraud = str(Path(env["PATH"].split(":")[0]) / "fraud")
    workers: list[Worker] = []
    started = time.perf_counter()
    try:
        for name in names:
            log = logs / f"{name}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    [fraud, "worker", "--concurrency", "1", "--metrics-port", "0"], env=env, cwd=cwd,
                    stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            workers.append(Worker(name, log, process))
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for worker in workers:
            while " ready." not in worker.text():
                if worker.process.poll() is not None or time.monotonic() > deadline:
                    raise BenchmarkError(f"worker {worker.name} did not start:\n{log_tail(worker.log)}")
                time.sleep(0.05)
            worker.ready_seconds = time.perf_counter() - started
        yield workers
    finally:
        for worker in workers:  # SIGTERM all first: their warm shutdowns overlap
            if worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            stop_group(worker.process)


# Memory ---------------------------------------------------------------------------------------------------


def status_kib(pid: int, field_name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # the process ended
        return 0
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, from the parent ids in /proc/<pid>/stat."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(parents.get(pid, []))
    return tree


def reset_peak(pid: int) -> None:
    """Reset the kernel's VmHWM of the process (writing 5 to clear_refs; Linux 4.0+, own processes)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class MemoryProbe:
    """Peak memory of each worker's process tree during one job.

    `hwm_mib`: the sum of the kernel's VmHWM over the tree (exact per process, reset at `reset`);
    `sampled_mib`: the largest sampled sum of VmRSS (every `interval` s). Both in MiB."""

    workers: list[Worker]
    interval: float = 0.1
    _sampled: dict[str, int] = field(default_factory=dict)
    _trees: dict[str, list[int]] = field(default_factory=dict)
    _series: list[tuple[float, dict[str, int]]] = field(default_factory=list)  # (Unix time, KiB per worker)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemoryProbe:
        # Trees are listed once per job (a /proc scan per sample would take CPU from the workers); a solo
        # pool worker has no children anyway.
        self._trees = {worker.name: process_tree(worker.pid) for worker in self.workers}
        for tree in self._trees.values():
            for pid in tree:
                reset_peak(pid)
        self._sampled = {worker.name: 0 for worker in self.workers}
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            sample = {
                name: sum(status_kib(pid, "VmRSS") for pid in tree) for name, tree in self._trees.items()
            }
            self._series.append((time.time(), sample))
            for name, rss in sample.items():
                self._sampled[name] = max(self._sampled[name], rss)

    def peaks(self) -> dict[str, dict[str, float]]:
        figures = {}
        for worker in self.workers:
            hwm = sum(status_kib(pid, "VmHWM") for pid in process_tree(worker.pid))
            figures[worker.name] = {
                "hwm_mib": hwm / KIB_PER_MIB,
                "sampled_mib": self._sampled[worker.name] / KIB_PER_MIB,
                "peak_mib": max(hwm, self._sampled[worker.name]) / KIB_PER_MIB,
            }
        return figures

    def peak_during(self, worker: str, started: float, ended: float) -> float | None:
        """Largest sampled RSS (MiB) of `worker` between two Unix times; None when no sample fell inside."""
        inside = [sample[worker] for at, sample in self._series if started <= at <= ended]
        return max(inside) / KIB_PER_MIB if inside else None


def rss_now_mib(worker: Worker) -> float:
    return sum(status_kib(pid, "VmRSS") for pid in process_tree(worker.pid)) / KIB_PER_MIB


# Worker logs ----------------------------------------------------------------------------------------------

# Celery's task lines, "[2026-11-26 10:00:00,123: INFO/MainProcess] Task fraud.batch.score_chunk[<id>]
# received" and "... Task fraud.batch.score_chunk[<id>] succeeded in 0.53s: 250000".
_TASK_LINE = re.compile(
    r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[^\]]+\] Task (?P<task>fraud\.batch\.\w+)"
    r"\[(?P<id>[^\]]+)\] (?P<event>received|succeeded in (?P<seconds>[\d.]+)s)",
    re.MULTILINE,
)


# compiled.py's messages: "compiled <label> in 0.9 s", "loaded <label> compiled in 0.012 s",
# "batch scoring of <label> stays on LightGBM: <reason>"; a label is "fraud-lgbm v1 (champion)".
_MODEL_LINE = re.compile(
    r"\] (compiled \S+ v\d+.* in [\d.]+ s|loaded \S+ v\d+.* compiled in|batch scoring of .* stays on)"
)


@dataclass(frozen=True)
class TaskRun:
    """One task execution as the worker logged it (received and succeeded lines); Unix times."""

    worker: str
    task: str  # "prepare", "score_chunk", "commit"
    task_id: str
    started: float
    seconds: float

    @property
    def ended(self) -> float:
        return self.started + self.seconds


def task_runs(workers: list[Worker], job_id: str) -> list[TaskRun]:
    """The job's succeeded tasks from every worker's log, in start order (the received line's time)."""
    runs = []
    for worker in workers:
        received: dict[str, float] = {}
        for match in _TASK_LINE.finditer(worker.text()):
            task_id = match.group("id")
            if not task_id.startswith(f"{job_id}.") and task_id != job_id:
                continue
            at = datetime.strptime(match.group("at"), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local time
            if match.group("event") == "received":
                received[task_id] = at
            elif task_id in received:
                task = match.group("task").rsplit(".", 1)[-1]
                seconds = float(match.group("seconds"))
                runs.append(TaskRun(worker.name, task, task_id, received.pop(task_id), seconds))
    return sorted(runs, key=lambda run: run.started)


def model_load_lines(worker: Worker) -> list[str]:
    """What the worker logged about readying the model: compiled now, loaded from the compiled cache, or
    left on LightGBM (the accelerator's own messages)."""
    return [line for line in worker.text().splitlines() if _MODEL_LINE.search(line)]
