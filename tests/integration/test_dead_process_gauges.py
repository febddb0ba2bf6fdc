"""A killed multi-process worker's live gauges leave the scrape; its counters stay (prometheus_client)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from fraud_detection.infrastructure.prometheus.dead_processes import alive, forget_dead_processes

# Sets a live gauge and a counter in the multiprocess folder, prints its pid, then waits for stdin to close.
WORKER = """
import sys
from prometheus_client import Counter, Gauge
Gauge("served", "", ["version"], multiprocess_mode="liveall").labels(version=sys.argv[1]).set(1)
Gauge("in_flight", "", multiprocess_mode="livesum").set(2)
Counter("scored", "").inc(5)
print(flush=True)
sys.stdin.read()
"""


def start(folder: Path, version: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, version],
        env={"PROMETHEUS_MULTIPROC_DIR": str(folder)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "\n"  # its samples are written
    return process


def scrape(folder: Path) -> str:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(folder))  # type: ignore[no-untyped-call]
    return generate_latest(registry).decode()


def test_a_killed_workers_live_gauges_are_dropped_and_its_counters_kept(tmp_path: Path) -> None:
    killed, living = start(tmp_path, "1"), start(tmp_path, "2")
    try:
        killed.kill()  # SIGKILL: no chance to mark itself dead
        killed.wait(10)
        assert f'pid="{killed.pid}"' in scrape(tmp_path)  # what the scrape showed before
        assert forget_dead_processes(tmp_path) == [killed.pid]
        text = scrape(tmp_path)
        assert f'served{{pid="{killed.pid}",version="1"}}' not in text
        assert f'served{{pid="{living.pid}",version="2"}} 1.0' in text
        assert "in_flight 2.0" in text  # the living one's alone, not 4
        assert "scored_total 10.0" in text  # both counted
        assert forget_dead_processes(tmp_path) == []  # nothing more to drop
    finally:
        for process in (killed, living):
            process.kill()
            process.wait(10)


def test_an_empty_folder_and_other_files_are_left_alone(tmp_path: Path) -> None:
    assert forget_dead_processes(tmp_path) == []
    (tmp_path / "counter_99999999.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_notapid.db").write_bytes(b"")
    assert forget_dead_processes(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_99999999.db", "gauge_livesum_notapid.db"]


def test_alive_tells_a_running_process_from_an_ended_one() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(10)
    assert alive(1)  # init: another process, signalled or not
    assert not alive(process.pid)
