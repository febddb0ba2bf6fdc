"""What a rollout adds to a scoring call, counted in instructions (valgrind's callgrind), not timed.

Why: on this 2-core machine two identical `fraud serve` servers land up to 5-10% apart in throughput
(benchmarks/serve.py --rollout's A/A control), so a part worth 1-2% cannot be seen by timing it. The
instructions a call executes hardly move between runs (under 1% here), so each part's share can be read.

What is counted: the scoring use case as `POST /v1/score` calls it (one row, a new transaction id per call,
then the dark work the API runs once the response is sent), `--calls` times after `--warmup` calls, on the
calling thread only (callgrind's instrumentation switched on and off around the loop). Left out: HTTP,
middleware and the capture logs' writer threads, which run by the clock (a write every few seconds), not by
the call. Instructions are not time: under load a request runs with cold caches, so the same instructions
take longer than in a loop (README "Staged promotion"); the ratio says how much code a mode adds.

Variants (each in its own process under valgrind, ~30 s each):
  off              no rollout
  shadow           a challenger in shadow on every request (FRAUD_ROLLOUT_SHADOW_SHARE=1)
  canary           10% canary, the other model scoring a tenth of requests in the dark (the default)
  canary-no-dark   the same with FRAUD_ROLLOUT_CANARY_DARK_SHARE near 0: what the dark pairs cost
With --probes, the canary again with one part of the rollout code cut out (scratch patches of this process,
not settings): `no-counts` (RolloutRecorder.scored: role counts, latency ring and Prometheus series),
`no-prometheus` (only the Prometheus rollout series), `no-routing` (the router always says champion: no
hash, no canary answers). The challenger is the champion's artifact registered again (serve_rollout.py).

    apt-get install valgrind
    .venv/bin/python benchmarks/serve_instructions.py [--home <trained FRAUD_HOME>] [--calls 2000] [--probes]

Prints instructions per call per variant and against `off`; writes benchmarks/out/serve_instructions.json.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from serve import REPO, BenchmarkError, prepare_home, sample_transaction, write_json
from serve_rollout import api_scoring_call, ensure_challenger, set_mode

VARIANTS: dict[str, tuple[str, dict[str, str], str]] = {  # name: (rollout mode, environment, probe)
    "off": ("off", {}, ""),
    "shadow": ("shadow", {"FRAUD_ROLLOUT_SHADOW_SHARE": "1"}, ""),
    "canary": ("canary", {}, ""),
    "canary-no-dark": ("canary", {"FRAUD_ROLLOUT_CANARY_DARK_SHARE": "1e-9"}, ""),
}
PROBES: dict[str, tuple[str, dict[str, str], str]] = {
    "canary-no-counts": ("canary", {}, "no-counts"),
    "canary-no-prometheus": ("canary", {}, "no-prometheus"),
    "canary-no-routing": ("canary", {}, "no-routing"),
}
TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


def count(
    home: Path, name: str, variant: tuple[str, dict[str, str], str], options: argparse.Namespace
) -> int:
    """Instructions the calling thread executed over the measured calls, in a process of its own."""
    mode, env, probe = variant
    set_mode(home, mode, *ensure_challenger(home))
    out = options.workdir / "callgrind" / f"{name}.out"
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f"{name}.out*"):
        stale.unlink()
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
        f"--callgrind-out-file={out}", sys.executable, __file__, "--child", str(home),
        str(options.calls), str(options.warmup),
    ]  # fmt: skip
    environment = os.environ | {"FRAUD_HOME": str(home), "BENCH_MODE": mode, "BENCH_PROBE": probe} | env
    result = subprocess.run(command, env=environment, cwd=REPO, capture_output=True, text=True)
    caller = out.with_name(f"{name}.out-01")  # callgrind numbers threads from 1: the main thread
    if result.returncode != 0 or not caller.is_file():
        raise BenchmarkError(
            f"{name}: exit {result.returncode}\n{result.stdout[-1500:]}{result.stderr[-3000:]}"
        )
    found = TOTALS.search(caller.read_text())
    if found is None:
        raise BenchmarkError(f"{name}: no totals in {caller}")
    return int(found.group(1))


def child(home: Path, calls: int, warmup: int) -> None:
    """The measured loop (runs under valgrind), after the variant's probe if any."""
    from fraud_detection.composition import Container
    from fraud_detection.settings import Settings

    patch(os.environ.get("BENCH_PROBE", ""))
    container = Container(Settings(home=home, model_poll_seconds=0, rollout_poll_seconds=3600))
    runtime = container.serving.runtime()
    runtime.start()
    rollout = container.serving.model_holder().snapshot.rollout
    served = "off" if rollout is None else str(rollout.stage)
    if served != os.environ["BENCH_MODE"]:  # e.g. two runs on one home, each setting its own state
        raise SystemExit(f"serving {served}, not the variant's {os.environ['BENCH_MODE']}")
    call = api_scoring_call(container, sample_transaction(home))
    for _ in range(warmup):
        call()
    callgrind("on")
    for _ in range(calls):
        call()
    callgrind("off")
    runtime.stop()


def patch(probe: str) -> None:
    """Cut one part of the rollout code out of this process (a probe, never a setting)."""
    from fraud_detection.application.serving.rollout_stats import RolloutRecorder
    from fraud_detection.domain.rollout.routing import CanaryRouter
    from fraud_detection.infrastructure.prometheus.metrics import PrometheusScoringTelemetry

    def nothing(*_: Any) -> None:
        return None

    def champion(*_: Any) -> bool:
        return False

    targets = {
        "no-counts": (RolloutRecorder, "scored", nothing),
        "no-prometheus": (PrometheusScoringTelemetry, "rollout_scored", nothing),
        "no-routing": (CanaryRouter, "__call__", champion),
    }
    if probe:
        owner, attribute, replacement = targets[probe]
        setattr(owner, attribute, replacement)


def callgrind(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True, capture_output=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        home, calls, warmup = sys.argv[2:5]
        child(Path(home), int(calls), int(warmup))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="An existing trained FRAUD_HOME (default: make one).")
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "serve")
    parser.add_argument("--calls", type=int, default=2_000, help="Measured calls per variant.")
    parser.add_argument("--warmup", type=int, default=2_000, help="Calls before counting starts.")
    parser.add_argument("--probes", action="store_true", help="Also the canary with one part cut out.")
    options = parser.parse_args()
    if options.calls < 1 or options.warmup < 0:
        parser.error("--calls must be positive and --warmup at least 0")
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)} on PATH (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    variants = VARIANTS | (PROBES if options.probes else {})
    figures: dict[str, float] = {}
    try:
        home = prepare_home(options.home, options.workdir)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    champion, challenger = ensure_challenger(home)
    try:
        for name, variant in variants.items():
            figures[name] = count(home, name, variant, options) / options.calls
            print(f"  {name:<22} {figures[name]:>10,.0f} instructions per call", flush=True)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        set_mode(home, "off", champion, challenger)  # no rollout left behind, as serve_rollout.py does
    off = figures["off"]
    print(f"\none-row scoring use case, calling thread, {options.calls:,} calls after {options.warmup:,}")
    print(f"  {'variant':<22} {'instructions':>12} {'vs off':>7} {'added':>9} {'share of canary':>16}")
    added_by_canary = figures["canary"] - off
    for name, value in figures.items():
        share = ""
        if name.startswith("canary-") and added_by_canary > 0:
            share = f"{(figures['canary'] - value) / added_by_canary:>15.0%}"  # what cutting the part saved
        print(f"  {name:<22} {value:>12,.0f} {value / off:>6.2f}x {value - off:>+9,.0f} {share:>16}")
    print("  share of canary: how much of what the canary adds the part cut out accounted for")
    elapsed = time.perf_counter() - started
    output = REPO / "benchmarks" / "out" / "serve_instructions.json"
    write_json(
        output,
        config={key: str(value) for key, value in vars(options).items()},
        per_call=figures,
        vs_off={name: value / off for name, value in figures.items()},
        elapsed_seconds=elapsed,
    )
    print(f"\ntook {elapsed:.0f} s; figures in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
