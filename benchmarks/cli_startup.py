"""Benchmark of the CLI's answer time: whole processes, start-up included (issue 14's figures).

One run, one machine, median of `--repeats` processes each (the drift check: always 5, as in drift.py):
  fraud --help                     aim < 0.5 s
  fraud model list --json          aim < 2 s (a trained home's registry: the SQLite catalog, no MLflow)
  fraud drift check (100k rows)    aim < 2 s (a 100,000-row captured window; see benchmarks/drift.py)
Baselines in the same run: `python -c pass` (the interpreter alone) and `python -c "import typer"` (the
CLI framework alone), reported as ratios. Writes benchmarks/out/cli_startup.json.

    .venv/bin/python benchmarks/cli_startup.py [--home <trained home>] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import drift  # benchmarks/drift.py: the champion, its profile and the 100k-row window
import serve as bench  # benchmarks/serve.py: trained home, clean environment, Aim


def seconds(command: list[str], env: dict[str, str], repeats: int) -> list[float]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        runs.append(time.perf_counter() - started)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="a FRAUD_HOME with a champion (default: train one)")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/cli_startup"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/cli_startup.json"))
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    home = bench.prepare_home(options.home, options.workdir)
    env, fraud, python = bench.clean_env(home), str(bench.BIN / "fraud"), sys.executable
    runs = {
        "python -c pass": seconds([python, "-c", "pass"], env, options.repeats),
        "python -c 'import typer'": seconds([python, "-c", "import typer"], env, options.repeats),
        "fraud --help": seconds([fraud, "--help"], env, options.repeats),
        "fraud model list --json": seconds([fraud, "model", "list", "--json"], env, options.repeats),
    }
    model, profile, _ = drift.champion(home)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        drift.write_window(Path(folder), model, profile)
        runs["fraud drift check (100k rows)"] = drift.cli_check_seconds(Path(folder), profile.model_name)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    interpreter = medians["python -c pass"]
    for name, median in medians.items():
        print(f"{name:32s} median {median:6.2f} s  ({median / interpreter:5.1f}x the bare interpreter)")
    aims = [
        bench.Aim("fraud --help", medians["fraud --help"], "<", 0.5, " s"),
        bench.Aim("fraud model list", medians["fraud model list --json"], "<", 2.0, " s"),
        bench.Aim("fraud drift check, 100k rows", medians["fraud drift check (100k rows)"], "<", 2.0, " s"),
    ]
    for aim in aims:
        print(aim.row())
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps({"runs_s": runs, "median_s": medians, "home": str(home)}, indent=2))
    return 0 if all(aim.verdict == "PASS" for aim in aims) else 1


if __name__ == "__main__":
    sys.exit(main())
