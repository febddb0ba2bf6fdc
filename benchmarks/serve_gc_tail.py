"""Why `fraud serve`'s p99 is far above the minimal endpoint's: full garbage collections and capture flushes.

Runs `fraud serve`'s app (the same `uvicorn.run` call, with gc callbacks that log every collection) under the
load of benchmarks/serve.py, in four variants: as is; `gc.freeze()` once the model is loaded; and each of
those with capture flushes pushed past the run (FRAUD_CAPTURE_MAX_ROWS=1000000, MAX_SECONDS=3600). Prints
p50/p99/max and the count and duration of collections per generation during the measured run.

    .venv/bin/python benchmarks/serve_gc_tail.py --home <trained FRAUD_HOME> [--rounds 2] [--duration 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import serve as bench  # benchmarks/serve.py: server start/stop, wrk runs

NO_FLUSH = {"FRAUD_CAPTURE_MAX_ROWS": "1000000", "FRAUD_CAPTURE_MAX_SECONDS": "3600"}
VARIANTS: dict[str, dict[str, str]] = {
    "as is": {},
    "gc.freeze() after start": {"GC_FREEZE": "1"},
    "as is, no capture flush": NO_FLUSH,
    "gc.freeze(), no capture flush": {"GC_FREEZE": "1"} | NO_FLUSH,
}


def log_collections(path: Path) -> None:
    """Append one JSON line per collection: generation and milliseconds."""
    log = path.open("w", buffering=1)
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            elapsed = (time.perf_counter() - started[0]) * 1000
            log.write(json.dumps({"generation": info["generation"], "ms": elapsed}) + "\n")

    gc.callbacks.append(callback)


def instrumented_app() -> Any:
    """`fraud serve`'s app; with GC_FREEZE set, everything alive once the model is loaded is frozen (never
    scanned again by a collection)."""
    from fraud_detection.entrypoints.api.app import create_app

    app = create_app()
    if os.environ.get("GC_FREEZE"):
        lifespan = app.router.lifespan_context

        @asynccontextmanager
        async def frozen(application: Any) -> AsyncIterator[None]:
            async with lifespan(application):
                gc.collect()
                gc.freeze()
                yield

        app.router.lifespan_context = frozen
    return app


def serve_instrumented(port: int) -> None:
    import uvicorn

    log_collections(Path(os.environ["GC_LOG"]))
    uvicorn.run(instrumented_app, factory=True, host="127.0.0.1", port=port, workers=1, log_level="info")


def summarise(lines: list[str]) -> str:
    by_generation: dict[int, list[float]] = defaultdict(list)
    for line in lines:
        entry = json.loads(line)
        by_generation[entry["generation"]].append(entry["ms"])
    return "  ".join(
        f"gen{generation} {len(times)}x max {max(times):.1f} ms"
        for generation, times in sorted(by_generation.items())
    )


def measure(options: argparse.Namespace) -> None:
    home = options.home.resolve()
    work = options.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    script, body, gc_log = work / "post.lua", work / "body.json", work / "gc.jsonl"
    script.write_text(bench.WRK_SCRIPT)
    service = bench.make_targets(home, bench.sample_transaction(home))["this"]
    body.write_bytes(service.body)

    def command(port: int) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]

    as_is: dict[int, float] = {}  # p99 of the first variant, per round: the others' ratios are to it
    for round_number in range(options.rounds):
        for name, extra in VARIANTS.items():
            target = dataclasses.replace(
                service, command=command, env=service.env | extra | {"GC_LOG": str(gc_log)}
            )
            with bench.running_server(target, work / "server.log", 120) as server:
                url = server.base_url + target.score_path
                bench.probe(url, target.body)
                bench.run_wrk(url, body, script, options.connections, 2)
                before = len(gc_log.read_text().splitlines())
                result = bench.run_wrk(url, body, script, options.connections, options.duration)
                during = gc_log.read_text().splitlines()[before:]
            baseline = as_is.setdefault(round_number, result.p99_ms)
            print(
                f"{name:<32} {result.rps:6.0f} rps  p50 {result.p50_ms:5.2f}  p99 {result.p99_ms:6.2f} "
                f"({result.p99_ms / baseline:4.2f}x as is)  max {result.max_ms:6.1f} ms | "
                f"{summarise(during)}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="A trained FRAUD_HOME (e.g. benchmarks/out/serve/home).")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=bench.REPO / "benchmarks" / "out" / "serve_gc_tail")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the server process
    options = parser.parse_args()
    if options.serve is not None:
        serve_instrumented(options.serve)
    elif options.home is None:
        parser.error("--home is required")
    else:
        measure(options)


if __name__ == "__main__":
    main()
