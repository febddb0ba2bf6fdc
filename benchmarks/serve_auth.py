"""What authentication and the request limits cost the scoring service: `fraud serve` of this tree against
the same command on a baseline revision (default: the commit before API clients), on the same trained home,
under the same wrk load (POST /v1/score with an `Authorization: Bearer` header that only this tree checks).
Rounds alternate their order so machine noise hits both alike; the median per side and the ratio are
printed and written to benchmarks/out/serve_auth.json.

    .venv/bin/python benchmarks/serve_auth.py [--baseline REV] [--rounds 4] [--duration 10]
        [--connections 16] [--home <trained FRAUD_HOME>] [--workdir benchmarks/out/serve_auth]

The baseline's `src/` is extracted with `git archive` and put first on PYTHONPATH of its server (the venv's
packages are shared). Reuses benchmarks/serve.py's server, probe and wrk helpers.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

import serve

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "bfd39df~1"  # the last commit before API clients, scopes and the request limits


def baseline_source(revision: str, workdir: Path) -> Path:
    """`src/` of `revision`, extracted afresh (never the working tree)."""
    target = workdir / "baseline"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def targets(home: Path, baseline_src: Path, transaction: dict[str, float]) -> dict[str, serve.Target]:
    made = serve.make_targets(home, transaction)["this"]  # `fraud serve`, 1 worker, the bench client
    old_env = made.env | {"PYTHONPATH": str(baseline_src)}
    return {
        "baseline": serve.Target(
            "baseline", "baseline (no API clients)", made.command, old_env, made.ready_path,
            made.score_path, made.body, made.read_probability, captures=True,
        ),
        "this": serve.Target(
            "this", "this tree (authenticated)", made.command, made.env, made.ready_path,
            made.score_path, made.body, made.read_probability, captures=True,
        ),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="Git revision to compare with.")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "serve_auth")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "out" / "serve_auth.json")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    options.workdir = options.workdir.resolve()
    options.workdir.mkdir(parents=True, exist_ok=True)
    (options.workdir / "post.lua").write_text(serve.WRK_SCRIPT)
    home = serve.prepare_home(options.home, options.workdir)
    chosen = targets(home, baseline_source(options.baseline, options.workdir), serve.sample_transaction(home))
    figures = {key: serve.TargetFigures(target.label) for key, target in chosen.items()}
    for round_index in range(options.rounds):
        order = ["baseline", "this"] if round_index % 2 == 0 else ["this", "baseline"]
        print(f"round {round_index + 1}/{options.rounds}", flush=True)
        for key in order:
            serve.measure_target(chosen[key], figures[key], options, home, round_index)
    if not all(f.valid for f in figures.values()):
        print("a target answered with errors: no figures", file=sys.stderr)
        return 1
    medians = {key: {m: f.median(m) for m in ("rps", "p50_ms", "p99_ms")} for key, f in figures.items()}
    ratio = medians["this"]["rps"] / medians["baseline"]["rps"]
    spread = {key: [round(run.rps) for run in f.runs] for key, f in figures.items()}
    print()
    print(
        f"wrk -c{options.connections} -d{options.duration}s, {options.rounds} rounds, "
        f"baseline {options.baseline}"
    )
    for key, values in medians.items():
        print(
            f"  {figures[key].label:<28} {values['rps']:8.0f} rps  p50 {values['p50_ms']:6.2f} ms  "
            f"p99 {values['p99_ms']:6.2f} ms  rounds {spread[key]}"
        )
    print(f"  throughput this/baseline: {ratio:.3f} (loss {100 * (1 - ratio):.1f}%; aim: at most 5%)")
    spreads = [statistics.pstdev(v) / statistics.mean(v) for v in spread.values()]
    print(f"  round-to-round spread (coefficient of variation): {max(spreads):.1%}")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(
        json.dumps(
            {"baseline": options.baseline, "medians": medians, "rounds": spread, "ratio": ratio}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
