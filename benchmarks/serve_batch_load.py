"""Does a flood of maximum-size batches harm everything else `fraud serve` does? Single scores and probes
during batch load, against the same server idle.

A 10,000-row batch body is ~7 MB of JSON: parsed and validated, it is tens of MB of objects and ~1 s of CPU.
This starts `fraud serve` (1 worker) on a trained home and, for each `--connections` level, runs wrk against
/v1/score/batch with such a body for `--duration` seconds while one client sends single scores and /readyz
probes every `--probe-interval` seconds. The same probes against the idle server come first: the baseline.
Reported per level: batch rows scored a second, the batch answers by status (408 and 503 included, from the
server's own metrics), the probes' median / p99 / max latency and their ratio to the idle ones, the server's
peak resident memory (VmRSS) against idle, and captured rows dropped (`fraud_capture_rows_dropped_total`).
Then the same for `--hostile` clients each sending junk bodies (a valid body plus an extra field of `{}`s) of
each `--hostile-bytes` size to each `--hostile-routes` route: a route's body limit refuses the larger ones
unread (413), a body under it is parsed and refused (422), on the event loop or off it. Figures, not asserts;
writes benchmarks/out/serve_batch_load.json.

    .venv/bin/python benchmarks/serve_batch_load.py [--connections 4 16 32] [--duration 20] [--home H]
        [--hostile-routes /v1/score /v1/feedback /v1/jobs] [--hostile-bytes 16777000 2000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from serve import (
    AUTHORIZATION,
    REPO,
    WRK_SCRIPT,
    BenchmarkError,
    make_targets,
    prepare_home,
    probe,
    ready_to_load,
    running_server,
    sample_transaction,
)

BATCH_ROWS = 10_000  # FRAUD_SCORE_BATCH_MAX's default: the largest batch a client may send
# A valid body of each route a hostile client pads with an extra field.
HOSTILE_BODIES: dict[str, dict[str, Any]] = {
    "/v1/feedback": {"labels": [{"transaction_id": "junk-1", "is_fraud": True}]},
    "/v1/jobs": {"input_uri": "/data/in.csv", "output_uri": "/data/out.parquet"},
}


def request_seconds(url: str, body: bytes | None) -> tuple[float, int]:
    headers = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}
    request = urllib.request.Request(url, data=body, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError):
        status = 0
    return time.perf_counter() - started, status


class Probes(threading.Thread):
    """A single score and a /readyz every `interval` seconds until stopped; their latencies in seconds."""

    def __init__(self, base: str, single: bytes, interval: float) -> None:
        super().__init__(daemon=True)
        self.base, self.single, self.interval = base, single, interval
        self.score: list[float] = []
        self.ready: list[float] = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for path, body, into in (("/v1/score", self.single, self.score), ("/readyz", None, self.ready)):
                seconds, status = request_seconds(self.base + path, body)
                into.append(seconds)
                self.failed += status != 200
            self.stop.wait(self.interval)


class MemorySampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self.stop.wait(0.2)


def rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def metrics(base: str) -> dict[str, float]:
    """The server's own counts: batch answers by status, captured rows dropped."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as answer:
        text = answer.read().decode()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "fraud_http_requests_total" and sample.labels.get("route") == "/v1/score/batch":
                key = f"batch_{sample.labels['status']}"
                counts[key] = counts.get(key, 0.0) + sample.value
            elif sample.name == "fraud_capture_rows_dropped_total":
                counts["capture_dropped"] = sample.value
    return counts


def summary(latencies: list[float], idle: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    median = statistics.median(ordered)
    return {
        "n": len(ordered),
        "p50_ms": 1000 * median,
        "p99_ms": 1000 * p99,
        "max_ms": 1000 * ordered[-1],
        "p50_ratio": median / statistics.median(idle),
        "max_ratio": ordered[-1] / max(idle),
    }


def wrk_batch(url: str, body_file: Path, script: Path, connections: int, duration: int) -> dict[str, Any]:
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "60s", "-s", str(script), url,
    ]  # fmt: skip
    environment = {
        "WRK_BODY_FILE": str(body_file),
        "WRK_AUTHORIZATION": AUTHORIZATION,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise BenchmarkError(
            f"wrk failed ({result.returncode}): {result.stderr[-800:]}{result.stdout[-800:]}"
        )
    return dict(json.loads(line.removeprefix("WRK_JSON ")))


def loaded(
    base: str, pid: int, single: bytes, options: argparse.Namespace, load: Any, idle: dict[str, list[float]]
) -> dict[str, Any]:
    """`load()` runs while the probes and the memory sampler do; figures against the idle probes."""
    before = metrics(base)
    probes, memory = Probes(base, single, options.probe_interval), MemorySampler(pid)
    probes.start()
    memory.start()
    try:
        outcome = load()
    finally:
        probes.stop.set()
        memory.stop.set()
        probes.join()
        memory.join()
    time.sleep(2)  # the capture's last flush
    after = metrics(base)
    counts = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    return {
        "load": outcome,
        "score": summary(probes.score, idle["score"]),
        "readyz": summary(probes.ready, idle["ready"]),
        "probe_failures": probes.failed,
        "rss_peak_mib": memory.peak,
        "rss_after_mib": rss_mib(pid),
        "server_counts": {key: value for key, value in counts.items() if value},
    }


def hostile_load(url: str, body: bytes, clients: int, requests: int) -> dict[str, Any]:
    statuses: list[int] = []

    def client() -> None:
        for _ in range(requests):
            statuses.append(request_seconds(url, body)[1])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))}}


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` with an extra field of `{}` items, ~`size` bytes in all."""
    return json.dumps(body)[:-1].encode() + b', "pad": [' + b",".join([b"{}"] * (size // 3)) + b"]}"


def print_level(name: str, figures: dict[str, Any], idle_rss: int) -> None:
    score, ready = figures["score"], figures["readyz"]
    print(
        f"{name:>22}  score p50 {score['p50_ms']:7.1f} ms ({score['p50_ratio']:5.1f}x)"
        f" max {score['max_ms']:7.0f} ms"
        f" ({score['max_ratio']:5.1f}x) | readyz p50 {ready['p50_ms']:6.1f} ms max {ready['max_ms']:6.0f} ms"
        f" | RSS peak {figures['rss_peak_mib']} MiB ({figures['rss_peak_mib'] / idle_rss:.2f}x), after"
        f" {figures['rss_after_mib']} | probe failures {figures['probe_failures']}"
    )
    print(f"{'':>22}  load {figures['load']} server {figures['server_counts']}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, nargs="*", default=[4, 16, 32])
    parser.add_argument("--duration", type=int, default=20, help="Seconds of batch load per level.")
    parser.add_argument("--probe-interval", type=float, default=0.25)
    parser.add_argument("--hostile", type=int, default=2, help="Clients sending junk bodies (0: none).")
    parser.add_argument(
        "--hostile-routes", nargs="+", default=["/v1/score", "/v1/feedback", "/v1/jobs"], metavar="PATH"
    )
    parser.add_argument("--hostile-bytes", type=int, nargs="+", default=[16_777_000, 2_000_000])
    parser.add_argument("--home", type=Path, help="An existing trained FRAUD_HOME (default: make one).")
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "serve_batch_load")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "out" / "serve_batch_load.json")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    return parser.parse_args()


def main() -> int:
    options = parse_args()
    if not ready_to_load(options):
        return 1
    home = prepare_home(options.home, options.workdir)
    transaction = sample_transaction(home)
    target = make_targets(home, transaction)["this"]
    single = target.body
    rows = [transaction | {"transaction_id": f"load-{i}"} for i in range(BATCH_ROWS)]
    batch_file = options.workdir / "batch.json"
    batch_file.write_text(json.dumps({"transactions": rows}))
    script = options.workdir / "wrk.lua"
    script.write_text(WRK_SCRIPT)
    report: dict[str, Any] = {"batch_body_bytes": batch_file.stat().st_size}
    try:
        with running_server(target, options.workdir / "server.log", options.ready_timeout) as server:
            base = server.base_url
            probe(base + "/v1/score", single)
            probes = Probes(base, single, options.probe_interval)
            probes.start()
            time.sleep(max(5.0, 20 * options.probe_interval))
            probes.stop.set()
            probes.join()
            idle = {"score": probes.score, "ready": probes.ready}
            idle_rss = rss_mib(server.pid)
            report["idle"] = {"score": summary(idle["score"], idle["score"]), "rss_mib": idle_rss}
            print(f"idle: single score p50 {report['idle']['score']['p50_ms']:.1f} ms, RSS {idle_rss} MiB")
            for connections in options.connections:
                figures = loaded(
                    base, server.pid, single, options, lambda c=connections: wrk_batch(
                        base + "/v1/score/batch", batch_file, script, c, options.duration
                    ), idle,
                )  # fmt: skip
                rate = figures["load"]["requests"] * BATCH_ROWS / (figures["load"]["duration_us"] / 1e6)
                figures["batch_rows_per_second"] = rate
                report[f"batch_c{connections}"] = figures
                print_level(f"batch c={connections}", figures, idle_rss)
                print(f"{'':>22}  batch rows scored/s {rate:,.0f}")
            for route in options.hostile_routes if options.hostile else []:
                for size in options.hostile_bytes:
                    junk = padded(HOSTILE_BODIES.get(route, transaction), size)
                    figures = loaded(
                        base, server.pid, single, options,
                        lambda r=route, j=junk: hostile_load(base + r, j, options.hostile, 6), idle,
                    )  # fmt: skip
                    report[f"hostile {route} {size}"] = figures
                    print_level(f"{options.hostile} x {size / 2**20:.1f} MiB {route}", figures, idle_rss)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(report, indent=2))
    print(f"figures in {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
