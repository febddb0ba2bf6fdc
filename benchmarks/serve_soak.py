"""Does `fraud serve` hold its memory under sustained load? A soak against the minimal FastAPI baseline.

benchmarks/serve.py measures seconds of load; a leak (a cache keyed by transaction id, metric series that
multiply, a capture queue that never drains) shows only over minutes and millions of requests. Each target
gets `--minutes` of wrk load (2 threads, 16 connections), one after the other on the same trained home:
  this      `fraud serve` (1 worker), every row captured to Parquet and its id indexed for label feedback;
            every request carries a new `transaction_id` (wrk's Lua counter), as production traffic does
  minimal   strict pydantic body + features + `booster.predict` on the same booster (serving_baselines.py)
The server process's resident memory (VmRSS) is sampled every `--sample-seconds`. Reported per target: RSS
when the warm-up ends (the first minute), at the end and at its highest, and the growth after the warm-up
as the slope of a least-squares line, in MiB per million requests and per hour of this load; the ratio of
this service's growth to the baseline's. Figures, not asserts; writes benchmarks/out/serve_soak.json.

    .venv/bin/python benchmarks/serve_soak.py [--minutes 6] [--home <trained FRAUD_HOME>]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from serve import (
    AUTHORIZATION,
    REPO,
    BenchmarkError,
    Target,
    captured_rows,
    make_targets,
    prepare_home,
    probe,
    ready_to_load,
    running_server,
    sample_transaction,
)

# POSTs the body with "__ID__" replaced by a new id per request (a body without it is sent as is).
SOAK_SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("WRK_AUTHORIZATION")
local file = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
local template = file:read("*a")
file:close()
local counter, thread_id = 0, 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("prefix", "soak-" .. thread_id .. "-")
end
function request()
  counter = counter + 1
  local body = string.gsub(template, "__ID__", prefix .. counter)
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests": %d, "non_2xx": %d, "p99_us": %d}\\n',
    summary.requests, summary.errors.status, latency:percentile(99)))
end
"""
WARMUP_SECONDS = 60.0
MIB = 1024 * 1024


@dataclass
class Soak:
    label: str
    requests: int
    non_2xx: int
    rps: float
    p99_ms: float
    samples: list[tuple[float, int]]  # (seconds since the load began, RSS bytes)
    captured: int | None

    def after_warmup(self) -> list[tuple[float, int]]:
        return [sample for sample in self.samples if sample[0] >= WARMUP_SECONDS]

    def figures(self) -> dict[str, float]:
        steady = self.after_warmup()
        seconds = np.array([t for t, _ in steady])
        rss = np.array([r for _, r in steady], dtype=np.float64) / MIB
        slope_per_second = float(np.polyfit(seconds, rss, 1)[0]) if len(steady) > 2 else float("nan")
        per_second = self.requests / self.samples[-1][0]
        return {
            "rss_after_warmup_mib": float(rss[0]),
            "rss_end_mib": float(rss[-1]),
            "rss_max_mib": float(max(r for _, r in self.samples) / MIB),
            "growth_mib_per_million_requests": slope_per_second / per_second * 1e6,
            "growth_mib_per_hour": slope_per_second * 3_600,
        }


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchmarkError(f"no VmRSS for pid {pid}")


def soak(target: Target, home: Path, options: argparse.Namespace) -> Soak:
    workdir = options.workdir
    body_file = workdir / f"body-{target.key}.json"
    body = target.body.replace(b'"bench-1"', b'"__ID__"')
    body_file.write_bytes(body)
    script = workdir / "soak.lua"
    script.write_text(SOAK_SCRIPT)
    with running_server(target, workdir / "logs" / f"soak-{target.key}.log", 120.0) as server:
        probe(server.base_url + target.score_path, target.body)
        seconds = int(options.minutes * 60)
        command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", str(script)]
        environment = os.environ | {"WRK_BODY_FILE": str(body_file), "WRK_AUTHORIZATION": AUTHORIZATION}
        samples: list[tuple[float, int]] = []
        began = time.monotonic()
        load = subprocess.Popen(
            [*command, server.base_url + target.score_path],
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
        )
        done = threading.Event()
        threading.Thread(target=lambda: (load.wait(), done.set()), daemon=True).start()
        while not done.wait(options.sample_seconds):
            samples.append((time.monotonic() - began, rss_bytes(server.pid)))
            print(
                f"  {target.key:<8} {samples[-1][0]:6.0f} s  RSS {samples[-1][1] / MIB:7.1f} MiB", flush=True
            )
        samples.append((time.monotonic() - began, rss_bytes(server.pid)))
        output = load.stdout.read() if load.stdout else ""
        pid = server.pid
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    if load.returncode != 0 or line is None:
        raise BenchmarkError(f"wrk failed ({load.returncode}): {output[-2000:]}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    captured = captured_rows(home, pid) if target.captures else None  # flushed on SIGTERM
    return Soak(
        target.label, figures["requests"], figures["non_2xx"], figures["requests"] / samples[-1][0],
        figures["p99_us"] / 1000, samples, captured,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=6.0, help="Minutes of load per target (>= 3).")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--home", type=Path, help="An existing trained FRAUD_HOME (default: make one).")
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "serve")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "out" / "serve_soak.json")
    options = parser.parse_args()
    if options.minutes < 3:
        parser.error("--minutes must be at least 3: the first minute is warm-up")
    if not ready_to_load(options):
        return 1
    try:
        home = prepare_home(options.home, options.workdir)
        targets = make_targets(home, sample_transaction(home))
        results = {key: soak(targets[key], home, options) for key in ("this", "minimal")}
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    print(f"\n{options.minutes:g} minutes of load each; growth after the first minute (least squares)")
    for result in results.values():
        f = result.figures()
        captured = f", {result.captured:,} rows captured" if result.captured is not None else ""
        print(
            f"{result.label:<36} {result.requests:>10,} requests ({result.rps:,.0f}/s, "
            f"{result.non_2xx} non-2xx{captured}); "
            f"RSS {f['rss_after_warmup_mib']:.0f} -> {f['rss_end_mib']:.0f} MiB (max "
            f"{f['rss_max_mib']:.0f}); {f['growth_mib_per_million_requests']:+.2f} MiB per million requests, "
            f"{f['growth_mib_per_hour']:+.1f} MiB per hour"
        )
    this, minimal = (results[key].figures()["growth_mib_per_million_requests"] for key in ("this", "minimal"))
    print(f"growth per million requests, this service / the baseline: {this:+.2f} / {minimal:+.2f} MiB")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    document = {key: asdict(result) | {"figures": result.figures()} for key, result in results.items()}
    options.output.write_text(json.dumps({"minutes": options.minutes} | document, indent=2))
    print(f"figures: {options.output}")
    return 0 if all(result.non_2xx == 0 for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
